import packageJson from "../../package.json" with { type: "json" }

/** The package's name and version, as npm and MCP clients see them. */
export const PACKAGE_NAME = packageJson.name
export const SERVER_VERSION = packageJson.version
