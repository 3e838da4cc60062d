// A loopback proxy in front of the server under test: the conformance suite cannot send an Authorization
// header, so this adds the bearer token to every request. Host and Origin are rewritten only when they name
// the proxy itself (what the suite sends when it means "this server"); anything else, such as the forged
// Host/Origin of the DNS-rebinding scenario, is forwarded untouched for the server to refuse.
import * as http from "node:http"

/**
 * Listens on 127.0.0.1 (a free port) and forwards to `127.0.0.1:targetPort`; resolves with the server, whose
 * `address().port` is the proxy's.
 */
export const startProxy = ({ targetPort, token }) =>
  new Promise((resolve, reject) => {
    const target = `127.0.0.1:${targetPort}`
    const proxy = http.createServer((request, response) => {
      const own = `127.0.0.1:${proxy.address().port}`
      const headers = { ...request.headers, authorization: `Bearer ${token}` }
      if (headers.host === own) headers.host = target
      if (headers.origin === `http://${own}`) headers.origin = `http://${target}`
      const upstream = http.request({ hostname: "127.0.0.1", port: targetPort, method: request.method, path: request.url, headers }, (answer) => {
        response.writeHead(answer.statusCode, answer.headers)
        // SSE answers stream through as they are written.
        answer.pipe(response)
      })
      upstream.on("error", (error) => {
        if (!response.headersSent) response.writeHead(502, { "content-type": "text/plain" })
        response.end(`proxy: ${error.message}`)
      })
      response.on("close", () => upstream.destroy())
      request.pipe(upstream)
    })
    proxy.once("error", reject)
    proxy.listen(0, "127.0.0.1", () => resolve(proxy))
  })
