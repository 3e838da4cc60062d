import init from "./0001_init.js"
import agentFeatures from "./0002_agent_features.js"
import sendLog from "./0003_send_log.js"
import searchBacklog from "./0004_search_backlog.js"
import inboundSenders from "./0005_inbound_senders.js"
import readState from "./0006_read_state.js"
import threadIndexDirection from "./0007_thread_index_direction.js"
import inboundFetch from "./0008_inbound_fetch.js"
import whatsapp from "./0009_whatsapp.js"
import oauth from "./0010_oauth.js"

/** SQLite's migrations, in order; PostgreSQL's twins are in postgres/. */
export const migrations = {
  "0001_init": init,
  "0002_agent_features": agentFeatures,
  "0003_send_log": sendLog,
  "0004_search_backlog": searchBacklog,
  "0005_inbound_senders": inboundSenders,
  "0006_read_state": readState,
  "0007_thread_index_direction": threadIndexDirection,
  "0008_inbound_fetch": inboundFetch,
  "0009_whatsapp": whatsapp,
  "0010_oauth": oauth
}
