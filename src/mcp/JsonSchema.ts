import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"

type Json = { [key: string]: unknown }

/** Effect's generated descriptions ("a string at most 2048 character(s) long") repeat the constraints. */
const generated = /^(a|an) (string|array|number|integer|non-empty|positive|finite|object|UUID)\b|character\(s\)|item\(s\)/

/**
 * An output schema's top-level names, each open to any value: the results are self-describing JSON, and the
 * names (what a program looks up) are what fits in tools/list's 8 KB alongside every tool's inputs.
 */
const namesOnly = (schema: Json): Json => {
  const properties = schema.properties as Record<string, Json> | undefined
  if (properties === undefined) return schema
  return { type: "object", properties: Object.fromEntries(Object.keys(properties).map((key) => [key, {}])) }
}

/**
 * The JSON Schema MCP clients accept: a plain top-level object with every definition inlined (no `$ref`,
 * no `$defs`), and none of Effect's generated titles and descriptions. Input schemas keep every limit a
 * model must respect; output schemas keep only the top level's names: they are read by programs, and the
 * whole `tools/list` stays small.
 */
export const toolJsonSchema = (schema: Schema.Schema<any, any>, kind: "input" | "output"): Json => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const root = JSONSchema.fromAST(schema.ast, { definitions, target: "jsonSchema7", topLevelReferenceStrategy: "skip" })
  const inline = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(inline)
    if (node === null || typeof node !== "object") return node
    const obj = node as Json
    if (typeof obj.$ref === "string") {
      const name = decodeURIComponent(obj.$ref.replace(/^#\/\$defs\//, ""))
      return inline(definitions[name])
    }
    const out: Json = {}
    for (const [key, value] of Object.entries(obj)) {
      if (key === "$schema" || key === "$defs" || key === "$id" || key === "title") continue
      if (key === "description" && typeof value === "string" && generated.test(value)) continue
      // A uuid pattern repeats what "format": "uuid" says, in 80 bytes.
      if (key === "pattern" && obj.format === "uuid") continue
      if (key === "required" && Array.isArray(value) && value.length === 0) continue
      out[key] = inline(value)
    }
    return out
  }
  const inlined = inline(root) as Json
  // An empty Struct comes out as "object or array": MCP wants a plain object.
  // Input: no parameters means none may be given, as the decoder (onExcessProperty: "error") enforces.
  const plain = inlined.type === "object"
    ? inlined
    : { type: "object", properties: {}, ...(kind === "input" ? { additionalProperties: false } : {}) }
  return kind === "output" ? namesOnly(plain) : plain
}
