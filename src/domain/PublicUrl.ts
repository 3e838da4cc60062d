import * as net from "node:net"

/** Addresses Twilio can never reach: this machine, private networks, link-local. */
const unreachable = new net.BlockList()
unreachable.addSubnet("127.0.0.0", 8, "ipv4")
unreachable.addSubnet("10.0.0.0", 8, "ipv4")
unreachable.addSubnet("172.16.0.0", 12, "ipv4")
unreachable.addSubnet("192.168.0.0", 16, "ipv4")
unreachable.addSubnet("169.254.0.0", 16, "ipv4")
unreachable.addSubnet("100.64.0.0", 10, "ipv4")
unreachable.addAddress("0.0.0.0", "ipv4")
unreachable.addAddress("::1", "ipv6")
unreachable.addAddress("::", "ipv6")
unreachable.addSubnet("fc00::", 7, "ipv6")
unreachable.addSubnet("fe80::", 10, "ipv6")

/**
 * Why Twilio cannot post to `url`, or undefined when it can: Twilio calls public `https` URLs only. A host
 * name is taken as public unless it is `localhost` or a `.local`/`.internal`/`.localhost` name.
 */
export const publicUrlProblem = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "it is not a URL"
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase()
  const family = net.isIP(host)
  if (family !== 0 ? unreachable.check(host, family === 4 ? "ipv4" : "ipv6") : host === "localhost" || /\.(local|localhost|internal)$/.test(host)) {
    return `${host} is a loopback or private address, which Twilio cannot reach`
  }
  if (parsed.protocol !== "https:") return "it is not https: Twilio posts to public HTTPS URLs only"
  return undefined
}
