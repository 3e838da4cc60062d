// The cold-start floor: an MCP SDK server over stdio with five trivial tools and no other dependencies.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const server = new McpServer({ name: "bare", version: "1.0.0" })
const echo = async ({ text }) => ({ content: [{ type: "text", text }] })
for (const name of ["one", "two", "three", "four", "five"]) {
  server.registerTool(name, { description: `Echoes its text (${name})`, inputSchema: { text: z.string() } }, echo)
}
await server.connect(new StdioServerTransport())
process.stdin.once("end", () => process.exit(0))
