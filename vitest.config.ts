import { defineConfig } from "vitest/config"

/** What both projects share. End-to-end tests spawn the built server and the Twilio emulator: room on 2 cores. */
const common = { testTimeout: 30_000, hookTimeout: 60_000 }

export default defineConfig({
  test: {
    // Builds dist/ once for the run, whichever projects run.
    globalSetup: ["test/globalSetup.ts"],
    projects: [
      { test: { ...common, name: "sqlite", include: ["test/**/*.test.ts"], exclude: ["test/postgres/**"] } },
      {
        test: {
          ...common,
          name: "postgres",
          // The suites that touch storage, on a real PostgreSQL (test/support/Dialect.ts), and the fuzzing of
          // tools and webhooks (PostgreSQL refuses text SQLite takes). Not here: what has no database
          // (configuration, ranking, packaging) and SQLite's own (its files and faults, a release's database
          // file, the group commit on a file).
          include: [
            "test/unit/**/*.test.ts",
            "test/agent/**/*.test.ts",
            "test/webhooks/**/*.test.ts",
            "test/e2e/**/*.test.ts",
            "test/postgres/**/*.test.ts",
            "test/reliability/fuzz-*.test.ts"
          ],
          exclude: [
            "test/unit/{Config,SearchRanking,GroupCommit,Package,ReleaseDatabase}.test.ts",
            "test/e2e/package.test.ts",
            "test/e2e/readme.test.ts"
          ],
          env: { TEST_DIALECT: "postgres" },
          globalSetup: ["test/support/postgresServer.ts"],
          setupFiles: ["test/support/postgresFile.ts"]
        }
      }
    ]
  }
})
