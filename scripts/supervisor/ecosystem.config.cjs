// pm2 process file for the webhook server alone (`twilio-mcp webhooks`).
//   pm2 start scripts/supervisor/ecosystem.config.cjs && pm2 save
// Environment comes from .env in `cwd` (loaded by the server) or from `env` below.
module.exports = {
  apps: [
    {
      name: "twilio-mcp-webhooks",
      cwd: __dirname + "/../..",
      script: "dist/index.js",
      args: "webhooks",
      instances: 1,
      exec_mode: "fork",
      // SIGTERM drains in-flight webhooks for up to 10 s before exit.
      kill_timeout: 15000,
      autorestart: true,
      env: { LOG_LEVEL: "info" }
    }
  ]
}
