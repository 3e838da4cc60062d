import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    // End-to-end tests spawn the built server and the Twilio emulator: give them room on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ["test/globalSetup.ts"],
    projects: [
      { extends: true, test: { name: "all", include: ["test/**/*.test.ts"] } },
      // The webhook suites again, with HTTP on the webhook thread (the `webhooks` command's setup).
      {
        extends: true,
        test: {
          name: "webhooks on a thread",
          include: ["test/webhooks/*.test.ts", "test/reliability/fuzz-webhooks.test.ts", "test/reliability/storage-faults.test.ts"],
          exclude: ["test/webhooks/thread.test.ts"],
          env: { WEBHOOK_THREAD: "1" }
        }
      }
    ]
  }
})
