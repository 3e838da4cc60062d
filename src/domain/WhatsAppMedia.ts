/**
 * The media types Twilio documents for WhatsApp, by file extension: a URL whose path ends in another one (GIF,
 * HEIC, MOV, ZIP…) would fail at Twilio after the send. A URL without an extension is left to Twilio, which
 * reads the type from the response.
 */
const SUPPORTED = new Set([
  "jpg", "jpeg", "png", "webp",
  "ogg", "opus", "amr", "3gp", "aac", "mp3", "m4a",
  "mp4",
  "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt"
])

const extensionOf = (url: string): string | undefined => {
  const path = URL.canParse(url) ? new URL(url).pathname : url
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(path)
  return match?.[1]?.toLowerCase()
}

/** What WhatsApp would refuse in these media URLs, in words; undefined when nothing. */
export const whatsAppMediaProblem = (urls: ReadonlyArray<string>): string | undefined => {
  if (urls.length > 1) return `${urls.length} media URLs given`
  const extension = urls[0] === undefined ? undefined : extensionOf(urls[0])
  return extension === undefined || SUPPORTED.has(extension) ? undefined : `.${extension} files are not a WhatsApp media type`
}
