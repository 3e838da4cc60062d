/** Where Twilio posts: the number's inbound URL and every send's StatusCallback, under WEBHOOK_BASE_URL. */
export const SMS_PATH = "/webhooks/twilio/sms"
export const STATUS_PATH = "/webhooks/twilio/status"
