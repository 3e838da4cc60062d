import * as fs from "node:fs"
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

// Ports handed out by the OS for port 0 come from the range it also takes outgoing connections' local ports
// from: a port found free there can be taken by a PostgreSQL or emulator connection before a spawned server
// binds it. Ports are drawn below that range instead.
const EPHEMERAL_LOW = (() => {
  try {
    return Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768
  } catch {
    return 32768
  }
})()
// Above fetch's "bad ports" (the highest is 10080), which Node's fetch refuses to connect to.
const LOW = 10_100
const HIGH = Math.max(LOW + 1000, EPHEMERAL_LOW)

/** A port on 127.0.0.1 that nothing listens on right now, outside the OS's ephemeral range (never 3000). */
export const freePort = async (): Promise<number> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW))
    if (await canListen(port)) return port
  }
  return listenOnce(0)
}

/** Whether something can listen on `port` now, i.e. no process holds it. */
export const canListen = (port: number) => listenOnce(port).then(() => true, () => false)
