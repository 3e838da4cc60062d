import * as ParseResult from "effect/ParseResult"
import { clip } from "./Text.js"

/** "to: must be an E.164 phone number…; message: is missing", the shape a model can fix in one go. */
export const formatParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    // An optional parameter is a union with undefined: its "Expected undefined" is noise next to the real issue.
    .filter((issue) => !issue.message.startsWith("Expected undefined"))
    .map((issue) => {
      const where = issue.path.length > 0 ? clip(issue.path.join("."), 80) : "arguments"
      const message = issue._tag === "Unexpected"
        ? "is not a parameter of this tool"
        : issue.path.length === 0 && issue._tag === "Type"
        ? "must be a JSON object of named parameters"
        : clip(issue.message)
      return `${where}: ${message}`
    })
    .join("; ")
