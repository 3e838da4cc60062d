// Preloaded into the peer's webhook server (`node --import`): its Express app listens on all interfaces
// (`app.listen(port)`); this binds every listen that names no host to 127.0.0.1 instead.
import * as net from "node:net"

const listen = net.Server.prototype.listen
net.Server.prototype.listen = function(...args) {
  if (typeof args[0] === "number" && typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1")
  else if (typeof args[0] === "object" && args[0] !== null && args[0].host === undefined && args[0].path === undefined) {
    args[0] = { ...args[0], host: "127.0.0.1" }
  }
  return listen.apply(this, args)
}
