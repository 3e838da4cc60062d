/** setupFiles of the postgres project: each test file on a database of its own, cloned from the migrated template. */
import { afterAll, beforeAll } from "vitest"
import { closeFileDatabases, openFileDatabases } from "./Dialect.js"

beforeAll(openFileDatabases)
afterAll(closeFileDatabases)
