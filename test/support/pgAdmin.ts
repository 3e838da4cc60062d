/** Plain node-postgres for test set-up: databases created, cloned, emptied and dropped. */
import pg from "pg"

/** `url` with its database replaced. */
export const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** One statement on its own connection. */
export const adminQuery = async (url: string, statement: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(statement)
  } finally {
    await client.end()
  }
}

