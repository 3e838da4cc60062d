/** Text from outside (a caller's value, a URL, a form field), cut so that whatever its size it prints short. */
export const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text)

/**
 * A URL as it may be shown: without `user:password@`. WEBHOOK_BASE_URL may carry credentials (Twilio calls
 * and signs such URLs with them); they never reach a log line, a check or an HTTP answer.
 */
export const withoutCredentials = (url: string) => {
  try {
    const parsed = new URL(url)
    if (parsed.username === "" && parsed.password === "") return url
    parsed.username = ""
    parsed.password = ""
    return parsed.toString()
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//")
  }
}
