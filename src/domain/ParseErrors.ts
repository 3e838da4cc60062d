import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as AST from "effect/SchemaAST"
import { clip } from "./Text.js"

/**
 * Decoding errors in plain words, the shape a model can fix in one go: "to: must be an E.164 phone number…;
 * message: is missing". Effect's own formatter names the expected type from the schema (`ReadonlyArray<…>`,
 * brands, or a field's description where a type belongs); here a message is one of ours (a schema's
 * `message` annotation, a filter's or a transformation's own text) or a plain name for the kind of value.
 */

type Line = { readonly path: ReadonlyArray<PropertyKey>; readonly message: string }

/** What kind of value a schema takes, in words. */
const plain = (ast: AST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
    case "TemplateLiteral":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "true or false"
    case "Literal":
      return JSON.stringify(ast.literal)
    case "TupleType": {
      const element = ast.rest[0]?.type
      const of = element === undefined ? "" : plain(element)
      return of === "" || of === "a value" ? "a list" : `a list of ${of.replace(/^an? /, "")}s`
    }
    case "TypeLiteral":
      return "an object"
    case "Union": {
      const members = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
      return Array.from(new Set(members.map(plain))).join(" or ")
    }
    case "Refinement":
      return plain(ast.from)
    case "Transformation":
      return plain(ast.from)
    case "Suspend":
      return plain(ast.f())
    case "UndefinedKeyword":
    case "VoidKeyword":
      return "absent"
    default:
      return "a value"
  }
}

/**
 * A `message` annotation of ours on this schema, evaluated for the issue. `override` (Effect's convention)
 * makes it the message for any failure beneath it too.
 */
const ownMessage = (ast: AST.AST, issue: ParseResult.ParseIssue): { readonly text: string; readonly override: boolean } | undefined =>
  Option.match(AST.getMessageAnnotation(ast), {
    onNone: () => undefined,
    onSome: (annotation) => {
      const out = annotation(issue)
      if (typeof out === "string") return { text: out, override: false }
      return typeof out === "object" && out !== null && "message" in out && typeof out.message === "string"
        ? { text: out.message, override: out.override === true }
        : undefined
    }
  })

const annotatedMessage = (ast: AST.AST, issue: ParseResult.ParseIssue) => ownMessage(ast, issue)?.text

/** A length check without words of its own (Effect's maxLength/minLength keep the bound in their JSON Schema annotation). */
const lengthBound = (ast: AST.AST): string | undefined => {
  if (ast._tag !== "Refinement") return undefined
  const bound = Option.getOrUndefined(AST.getJSONSchemaAnnotation(ast)) as { readonly maxLength?: number; readonly minLength?: number } | undefined
  if (bound?.maxLength !== undefined) return `is too long: at most ${bound.maxLength} characters`
  if (bound?.minLength !== undefined) return `is too short: at least ${bound.minLength} characters`
  return undefined
}

const walk = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>): Array<Line> => {
  switch (issue._tag) {
    case "Pointer":
      return walk(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])])
    case "Unexpected":
      return [{ path, message: "is not a parameter of this tool" }]
    case "Missing":
      return [{ path, message: "is missing" }]
    case "Forbidden":
      return [{ path, message: "is not allowed" }]
    case "Type": {
      const own = issue.message ?? annotatedMessage(issue.ast, issue) ?? lengthBound(issue.ast)
      return [{ path, message: own ?? `must be ${plain(issue.ast)}` }]
    }
    case "Refinement": {
      const own = ownMessage(issue.ast, issue)
      if (issue.kind === "From") return own?.override ? [{ path, message: own.text }] : walk(issue.issue, path)
      return own === undefined ? walk(issue.issue, path) : [{ path, message: own.text }]
    }
    case "Transformation": {
      const own = ownMessage(issue.ast, issue)
      return own?.override ? [{ path, message: own.text }] : walk(issue.issue, path)
    }
    case "Composite": {
      const issues = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      if (AST.isUnion(issue.ast)) {
        // An optional parameter is a union with undefined: the other member's issue is the one to tell.
        const real = issues.filter((i) => !(i._tag === "Type" && i.ast._tag === "UndefinedKeyword"))
        if (real.length === 1) return walk(real[0]!, path)
        return [{ path, message: annotatedMessage(issue.ast, issue) ?? `must be ${plain(issue.ast)}` }]
      }
      return issues.flatMap((i) => walk(i, path))
    }
  }
}

export const formatParseError = (error: ParseResult.ParseError): string =>
  walk(error.issue, [])
    .map(({ message, path }) => {
      const where = path.length > 0 ? clip(path.map(String).join("."), 80) : "arguments"
      const text = path.length === 0 && message.startsWith("must be an object") ? "must be a JSON object of named parameters" : clip(message)
      return `${where}: ${text}`
    })
    .join("; ")
