import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"

/**
 * The SQL that differs between SQLite and PostgreSQL, in one place; the stores' statements are otherwise
 * shared. A batch goes to the database as one JSON parameter, read as a table: `json_each` in SQLite,
 * `jsonb_to_recordset` in PostgreSQL (which wants the column types; SQLite takes JSON's own).
 */

export type ColumnType = "text" | "integer" | "bigint"

/**
 * What jsonb refuses becomes U+FFFD, the replacement character, instead of failing the write: U+0000, which
 * PostgreSQL's text cannot hold (a signed webhook may carry one; SQLite keeps it), and a lone UTF-16 surrogate
 * (a tool argument may carry one; `JSON.stringify` writes it as an escape, a paired one as the character). An
 * escape is one when an even number of backslashes precede it.
 */
const storable = (json: string) => json.replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g, "$1\\ufffd")

/** The JSON array of objects `json` as a table `alias` with these columns (the objects' keys). */
export const jsonTable = (
  sql: SqlClient.SqlClient,
  json: string,
  alias: string,
  columns: Readonly<Record<string, ColumnType>>
): Statement.Fragment => {
  const names = Object.keys(columns)
  return sql.onDialectOrElse({
    pg: () =>
      sql`jsonb_to_recordset(${storable(json)}::jsonb) AS ${sql.literal(`${alias}(${names.map((n) => `"${n}" ${columns[n]}`).join(", ")})`)}`,
    orElse: () =>
      sql`(SELECT ${sql.literal(names.map((n) => `value ->> '${n}' AS "${n}"`).join(", "))} FROM json_each(${json})) AS ${
        sql.literal(alias)
      }`
  })
}

/** The JSON array of strings `json` as a one-column query (`value`), for `IN (…)`. */
export const jsonValues = (sql: SqlClient.SqlClient, json: string): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql`SELECT jsonb_array_elements_text(${storable(json)}::jsonb) AS value`,
    orElse: () => sql`SELECT value FROM json_each(${json})`
  })

/** A JSON array of these expressions, as text (PostgreSQL's would come back parsed). */
export const jsonArray = (sql: SqlClient.SqlClient, expressions: string): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql.literal(`json_build_array(${expressions})::text`),
    orElse: () => sql.literal(`json_array(${expressions})`)
  })

/** `table`, read through `index` in SQLite, whose planner picks another for some of these queries. */
export const indexedBy = (sql: SqlClient.SqlClient, table: string, index: string): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql.literal(table),
    orElse: () => sql.literal(`${table} INDEXED BY ${index}`)
  })
