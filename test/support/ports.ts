import * as net from "node:net"

const listenOnce = (port: number) =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

/** A port on 127.0.0.1 that nothing listens on right now (never 3000: the OS picks one). */
export const freePort = () => listenOnce(0)

/** Whether something can listen on `port` now, i.e. no process holds it. */
export const canListen = (port: number) => listenOnce(port).then(() => true, () => false)
