// @noema/client: a live, optimistic, offline replica of one World. The database and queue for
// each runtime are subpaths (`/node`, `/browser`); React hooks are `/react`.
export {
  type ClientOptions,
  type ClientState,
  type ClientStatus,
  type LiveQuery,
  NoemaClient,
  params,
  type Prediction,
  type Sent,
  type Settled,
  SyncError,
  type SyncSocket,
} from "./client.js";
export type { ReplicaDatabase } from "./database.js";
export { memoryQueue, type QueuedIntent, type SendQueue } from "./queue.js";
