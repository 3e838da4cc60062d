import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"

type Json = { [key: string]: unknown }

/** Effect's generated descriptions ("a string at most 2048 character(s) long") repeat the constraints. */
const generated = /^(a|an) (string|array|number|integer|non-empty|positive|finite|object|UUID)\b|character\(s\)|item\(s\)/

/**
 * The JSON Schema MCP clients accept: a plain top-level object with every definition inlined (no `$ref`,
 * no `$defs`), and none of Effect's generated titles and descriptions, which only add bytes to
 * `tools/list`. Output schemas also drop `additionalProperties: false`: they describe, they do not police.
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
      if (key === "additionalProperties" && value === false && kind === "output") continue
      out[key] = inline(value)
    }
    return out
  }
  return inline(root) as Json
}
