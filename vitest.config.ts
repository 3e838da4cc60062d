import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    // End-to-end tests spawn the built server and the Twilio emulator: give them room on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ["test/globalSetup.ts"],
    include: ["test/**/*.test.ts"]
  }
})
