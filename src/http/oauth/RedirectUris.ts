import { isLoopback } from "../../config/OAuthMode.js"

/**
 * Where the built-in authorization server may send a browser with a code: https, or http on loopback (a
 * native client's own listener, RFC 8252 §7.3). No custom schemes, no fragments.
 */
export const allowedRedirectUri = (uri: string) => {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return false
  }
  if (url.hash !== "" || uri.includes("#")) return false
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))
}
