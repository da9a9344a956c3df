// @noema/core/sync: the sync protocol (frames, close codes, validators) shared by the server in
// @noema/cloudflare and the client in @noema/client. Small and dependency-free: it goes into browsers.
export * from "./sync/protocol.js";
