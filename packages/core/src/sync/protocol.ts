// The sync protocol: the frames a client and an Attractor exchange over one WebSocket per World,
// and a hand-written validator for each direction. Plain types and constants only, so the client
// bundle carries no schema library (the server uses the same validators).
import { type Json, utf8Length, utf8Within } from "../canonical/index.js";
import type { World } from "../host/index.js";
import { type Issue, issue, type ParseResult } from "../issue/index.js";
import { type Intent, MAX_INTENT_BYTES, MAX_KEY_LENGTH } from "../intent/wire.js";
import type { Seal } from "../seal/types.js";

/** The protocol's version, sent in `hello` and `welcome`: a server refuses a version it does not speak (4400). */
export const SYNC_PROTOCOL = 1;

/**
 * The close codes a server ends a sync socket with. `malformed`: a frame that is not JSON or not a
 * frame, or `hello` missing or repeated. `unauthorized`: a bad or missing token. `forbidden`:
 * the token may not see this World. `unknownWorld`: no such World. `resync`: the client's cursor
 * is not on this World's chain (a fork, or a sediment it cannot have): drop the replica and say
 * `hello` again without `after`. `tooLarge`: a published row does not fit in one frame
 * (MAX_SERVER_FRAME_BYTES), so this subscriber cannot be kept in sync; reconnecting would meet it again.
 */
export const SYNC_CLOSE = {
  malformed: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  unknownWorld: 4404,
  resync: 4409,
  tooLarge: 4413,
} as const;
/** One of the close codes of `SYNC_CLOSE`. */
export type SyncCloseCode = (typeof SYNC_CLOSE)[keyof typeof SYNC_CLOSE];

/**
 * The codes of an `error` frame: the frame it answers changed nothing. `malformed`: a frame the
 * validator refused (its `path` names the field). `invalid_intent`: the Intent of a `send` failed
 * validation before it ran (no Seal, no Precedent). `read_only`: the token may subscribe, not send.
 * `not_ready`: a `send` before `welcome`.
 */
export const SYNC_ERROR = {
  malformed: "malformed",
  invalidIntent: "invalid_intent",
  readOnly: "read_only",
  notReady: "not_ready",
} as const;
/** One of the error codes of `SYNC_ERROR`. */
export type SyncErrorCode = (typeof SYNC_ERROR)[keyof typeof SYNC_ERROR];

/**
 * The WebSocket subprotocol a sync socket speaks. A browser, which cannot set headers on a
 * WebSocket, offers it together with its token as a second subprotocol
 * (`new WebSocket(url, [SYNC_SUBPROTOCOL, token])`); the server answers with this one alone.
 * `?token=` in the URL works too.
 */
export const SYNC_SUBPROTOCOL = "noema-sync";

/** Bytes of one client frame: an Intent at its limit plus the envelope around it. */
export const MAX_SYNC_FRAME_BYTES = MAX_INTENT_BYTES + 1024;

/**
 * Bytes of one server frame: half of the 1 MiB a Workers WebSocket message may hold. A snapshot
 * larger than this is sent as several `snapshot` frames (see `snapshotFrames`).
 */
export const MAX_SERVER_FRAME_BYTES = 512 * 1024;

/** The sediment id and hash of the empty log: where a snapshot of a World with no sediment stands. */
export const SYNC_GENESIS = { sedimentId: 0, hash: "0".repeat(64) } as const;

/** A law as both sides name it: its Nomos version and hash. */
export interface LawStamp {
  version: number;
  hash: string;
}

/** A place in a World's hash chain: the last sediment a replica applied. */
export interface SyncCursor {
  sedimentId: number;
  hash: string;
}

/** First frame from the client: its protocol, its law, and where its replica stands (none: send a snapshot). */
export interface HelloFrame {
  t: "hello";
  protocol: typeof SYNC_PROTOCOL;
  law: LawStamp;
  after?: SyncCursor;
}

/** An Intent to sediment, with its idempotency key (always set: a repeat returns the same Seal). */
export interface SendFrame {
  t: "send";
  intent: Intent & { idempotencyKey: string };
}

/** A frame a client sends: `hello`, then `send`s. */
export type ClientFrame = HelloFrame | SendFrame;

/** The answer to `hello`: the World, the server's law, whether the client's is older, and whether it may send. */
export interface WelcomeFrame {
  t: "welcome";
  protocol: typeof SYNC_PROTOCOL;
  world: World;
  law: LawStamp;
  /** The client's law version is older than the server's: its sends are still carried; the app may say "reload to update". */
  behind: boolean;
  readOnly: boolean;
}

/** One published table as the subscriber may see it: its visible columns, its primary key (a subset of them), its rows. */
export interface SnapshotTable {
  columns: string[];
  /** The primary-key columns, in key order: what a `delete` change's `key` lists. */
  key: string[];
  rows: Json[][];
}

/**
 * Everything the subscriber may see, as of one sediment (SYNC_GENESIS for an empty log). Every
 * published table is listed, empty or not. A snapshot larger than MAX_SERVER_FRAME_BYTES comes as
 * several frames of the same sediment, each with some of the rows (a table may span frames), all
 * but the last marked `more`: the client applies them together once the last has arrived.
 */
export interface SnapshotFrame {
  t: "snapshot";
  sedimentId: number;
  hash: string;
  tables: Record<string, SnapshotTable>;
  /** More frames of this snapshot follow. */
  more?: true;
}

/** A row the subscriber may see, inserted or changed: its values in the snapshot's column order. */
export interface UpsertChange {
  table: string;
  op: "upsert";
  row: Json[];
}

/** A row gone from the subscriber's view (deleted, or moved out of its scope): its primary-key values. */
export interface DeleteChange {
  table: string;
  op: "delete";
  key: Json[];
}

/** One row's change in a diff: an upsert of the visible columns, or a delete by key. */
export type SyncChange = UpsertChange | DeleteChange;

/**
 * The rows one sediment changed that the subscriber may see; empty when it changed none, so the
 * chain has no gap. A diff larger than MAX_SERVER_FRAME_BYTES comes as several frames of the same
 * sediment, each with some of the changes in order, all but the last marked `more`: the client
 * applies them together once the last has arrived.
 */
export interface DiffFrame {
  t: "diff";
  sedimentId: number;
  hash: string;
  prevHash: string;
  changes: SyncChange[];
  /** More frames of this diff follow. */
  more?: true;
}

/** The Seal of a `send`, success or refusal (with its reason), under the send's idempotency key. */
export interface SealFrame {
  t: "seal";
  key: string;
  seal: Seal;
}

/** A frame refused or an Intent invalid: nothing changed. `key` names the `send` it answers, when it had one. */
export interface ErrorFrame {
  t: "error";
  code: SyncErrorCode;
  message: string;
  path?: (string | number)[];
  key?: string;
}

/** A frame the server sends. */
export type ServerFrame = WelcomeFrame | SnapshotFrame | DiffFrame | SealFrame | ErrorFrame;

// ---- validation: each returns every issue at its path, like Zod, and the typed frame when none.

type Obj = Record<string, unknown>;
type Path = (string | number)[];

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const HASH = /^[0-9a-f]{64}$/;

/** Collects issues while a frame is read; each check returns whether it passed. */
class Reader {
  readonly issues: Issue[] = [];

  fail(path: Path, message: string, code = "invalid_type"): false {
    this.issues.push(issue(code, path, message));
    return false;
  }

  object(v: unknown, path: Path, keys: readonly string[]): v is Obj {
    if (!isObj(v)) return this.fail(path, "expected an object");
    for (const k of Object.keys(v)) if (!keys.includes(k)) this.fail([...path, k], `unknown field "${k}"`, "unrecognized_keys");
    return true;
  }

  string(v: unknown, path: Path, max = Infinity): v is string {
    if (typeof v !== "string") return this.fail(path, "expected a string");
    if (v.length === 0 || v.length > max) return this.fail(path, `expected 1 to ${max} characters`, "too_big");
    return true;
  }

  hash(v: unknown, path: Path): v is string {
    return typeof v === "string" && HASH.test(v) ? true : this.fail(path, "expected a SHA-256 hex hash (64 lowercase hex digits)", "invalid_string");
  }

  count(v: unknown, path: Path, min: number): v is number {
    return Number.isSafeInteger(v) && (v as number) >= min ? true : this.fail(path, `expected an integer >= ${min}`);
  }

  boolean(v: unknown, path: Path): v is boolean {
    return typeof v === "boolean" ? true : this.fail(path, "expected a boolean");
  }

  json(v: unknown, path: Path): v is Json {
    if (v === null || typeof v === "string" || typeof v === "boolean") return true;
    if (typeof v === "number") return Number.isFinite(v) ? true : this.fail(path, "expected a finite number");
    if (Array.isArray(v)) return v.every((x, i) => this.json(x, [...path, i]));
    if (isObj(v)) return Object.entries(v).every(([k, x]) => this.json(x, [...path, k]));
    return this.fail(path, "expected JSON");
  }

  jsonArray(v: unknown, path: Path): v is Json[] {
    return Array.isArray(v) ? this.json(v, path) : this.fail(path, "expected an array");
  }

  stringArray(v: unknown, path: Path): v is string[] {
    return Array.isArray(v) ? v.every((x, i) => this.string(x, [...path, i])) : this.fail(path, "expected an array of strings");
  }

  law(v: unknown, path: Path): v is LawStamp {
    if (!this.object(v, path, ["version", "hash"])) return false;
    return this.count(v.version, [...path, "version"], 1) && this.hash(v.hash, [...path, "hash"]);
  }

  cursor(v: unknown, path: Path): v is SyncCursor {
    if (!this.object(v, path, ["sedimentId", "hash"])) return false;
    return this.count(v.sedimentId, [...path, "sedimentId"], 0) && this.hash(v.hash, [...path, "hash"]);
  }

  tag<T extends string>(v: Obj, tags: readonly T[]): v is Obj & { t: T } {
    return tags.includes(v.t as T) ? true : this.fail(["t"], `expected one of ${tags.map((t) => `"${t}"`).join(", ")}`, "invalid_value");
  }

  done<T>(value: unknown): ParseResult<T> {
    return this.issues.length ? { ok: false, issues: this.issues } : { ok: true, value: value as T };
  }
}

/** Parses a frame's text (or already-parsed value): `not_json` when it is not JSON, `too_big` past `max` bytes. */
function decode(input: unknown, r: Reader, max: number): { ok: true; value: unknown } | { ok: false } {
  if (typeof input !== "string") return { ok: true, value: input };
  if (!utf8Within(input, max)) {
    r.fail([], `a frame may hold at most ${max} bytes`, "too_big");
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(input) as unknown };
  } catch {
    r.fail([], "a frame is one JSON object", "not_json");
    return { ok: false };
  }
}

/**
 * Checks a client frame (its text, or the value parsed from it): the envelope only. A `send`'s
 * Intent must be an object with an idempotency key; the server checks the rest against its law,
 * as `POST /intents` does.
 */
export function parseClientFrame(input: unknown): ParseResult<ClientFrame> {
  const r = new Reader();
  const decoded = decode(input, r, MAX_SYNC_FRAME_BYTES);
  if (!decoded.ok) return r.done(undefined);
  const v = decoded.value;
  if (!isObj(v)) return (r.fail([], "expected a frame object"), r.done(undefined));
  if (!r.tag(v, ["hello", "send"] as const)) return r.done(undefined);
  if (v.t === "hello") {
    r.object(v, [], ["t", "protocol", "law", "after"]);
    if (v.protocol !== SYNC_PROTOCOL) r.fail(["protocol"], `this server speaks sync protocol ${SYNC_PROTOCOL}`, "invalid_value");
    r.law(v.law, ["law"]);
    if (v.after !== undefined) r.cursor(v.after, ["after"]);
  } else {
    r.object(v, [], ["t", "intent"]);
    if (r.object(v.intent, ["intent"], Object.keys(isObj(v.intent) ? v.intent : {}))) {
      r.string(v.intent.idempotencyKey, ["intent", "idempotencyKey"], MAX_KEY_LENGTH);
      r.json(v.intent, ["intent"]);
    }
  }
  return r.done(v);
}

/** Checks a server frame (its text, or the value parsed from it): what a client runs on every frame before it applies it. At most MAX_SERVER_FRAME_BYTES. */
export function parseServerFrame(input: unknown): ParseResult<ServerFrame> {
  const r = new Reader();
  const decoded = decode(input, r, MAX_SERVER_FRAME_BYTES);
  if (!decoded.ok) return r.done(undefined);
  const v = decoded.value;
  if (!isObj(v)) return (r.fail([], "expected a frame object"), r.done(undefined));
  if (!r.tag(v, ["welcome", "snapshot", "diff", "seal", "error"] as const)) return r.done(undefined);
  switch (v.t) {
    case "welcome":
      r.object(v, [], ["t", "protocol", "world", "law", "behind", "readOnly"]);
      if (v.protocol !== SYNC_PROTOCOL) r.fail(["protocol"], `this client speaks sync protocol ${SYNC_PROTOCOL}`, "invalid_value");
      if (r.object(v.world, ["world"], ["attractor", "name", "nomosVersion", "nomosHash"])) {
        r.string(v.world.attractor, ["world", "attractor"]);
        r.string(v.world.name, ["world", "name"]);
        r.count(v.world.nomosVersion, ["world", "nomosVersion"], 1);
        r.hash(v.world.nomosHash, ["world", "nomosHash"]);
      }
      r.law(v.law, ["law"]);
      r.boolean(v.behind, ["behind"]);
      r.boolean(v.readOnly, ["readOnly"]);
      break;
    case "snapshot":
      r.object(v, [], ["t", "sedimentId", "hash", "tables", "more"]);
      r.count(v.sedimentId, ["sedimentId"], 0);
      r.hash(v.hash, ["hash"]);
      more(r, v.more);
      if (r.object(v.tables, ["tables"], Object.keys(isObj(v.tables) ? v.tables : {}))) {
        for (const [name, table] of Object.entries(v.tables)) snapshotTable(r, table, ["tables", name]);
      }
      break;
    case "diff":
      r.object(v, [], ["t", "sedimentId", "hash", "prevHash", "changes", "more"]);
      r.count(v.sedimentId, ["sedimentId"], 1);
      r.hash(v.hash, ["hash"]);
      r.hash(v.prevHash, ["prevHash"]);
      more(r, v.more);
      if (Array.isArray(v.changes)) v.changes.forEach((c, i) => change(r, c, ["changes", i]));
      else r.fail(["changes"], "expected an array");
      break;
    case "seal":
      r.object(v, [], ["t", "key", "seal"]);
      r.string(v.key, ["key"], MAX_KEY_LENGTH);
      if (r.object(v.seal, ["seal"], Object.keys(isObj(v.seal) ? v.seal : {}))) {
        r.boolean(v.seal.success, ["seal", "success"]);
        r.json(v.seal, ["seal"]);
      }
      break;
    case "error":
      r.object(v, [], ["t", "code", "message", "path", "key"]);
      r.string(v.code, ["code"]);
      if (typeof v.message !== "string") r.fail(["message"], "expected a string");
      if (v.path !== undefined && !(Array.isArray(v.path) && v.path.every((p) => typeof p === "string" || typeof p === "number"))) r.fail(["path"], "expected an array of keys and indexes");
      if (v.key !== undefined) r.string(v.key, ["key"], MAX_KEY_LENGTH);
      break;
  }
  return r.done(v);
}

function more(r: Reader, v: unknown): void {
  if (v !== undefined && v !== true) r.fail(["more"], "expected true, or no field", "invalid_value");
}

function snapshotTable(r: Reader, v: unknown, path: Path): void {
  if (!r.object(v, path, ["columns", "key", "rows"])) return;
  const columns = r.stringArray(v.columns, [...path, "columns"]) ? v.columns : undefined;
  if (r.stringArray(v.key, [...path, "key"]) && columns) {
    v.key.forEach((k, i) => void (columns.includes(k) || r.fail([...path, "key", i], `"${k}" is not one of the columns`, "invalid_value")));
  }
  if (!Array.isArray(v.rows)) return void r.fail([...path, "rows"], "expected an array");
  v.rows.forEach((row, i) => {
    if (r.jsonArray(row, [...path, "rows", i]) && columns && row.length !== columns.length) r.fail([...path, "rows", i], `expected ${columns.length} values, one per column`, "invalid_value");
  });
}

function change(r: Reader, v: unknown, path: Path): void {
  if (!isObj(v)) return void r.fail(path, "expected an object");
  if (v.op === "upsert") {
    r.object(v, path, ["table", "op", "row"]);
    r.string(v.table, [...path, "table"]);
    r.jsonArray(v.row, [...path, "row"]);
  } else if (v.op === "delete") {
    r.object(v, path, ["table", "op", "key"]);
    r.string(v.table, [...path, "table"]);
    r.jsonArray(v.key, [...path, "key"]);
  } else r.fail([...path, "op"], 'expected "upsert" or "delete"', "invalid_value");
}

// ---- snapshots and diffs in parts

/**
 * True when a server frame's text is within MAX_SERVER_FRAME_BYTES. Only a frame with a single row
 * larger than that can fail it: the server then closes with `SYNC_CLOSE.tooLarge`.
 */
export function fitsServerFrame(text: string): boolean {
  return utf8Within(text, MAX_SERVER_FRAME_BYTES);
}

/**
 * A snapshot as the frames that carry it, each at most `maxBytes` of JSON text: one frame when it
 * fits, else several of the same sediment (all but the last marked `more`), a table's rows split
 * between them in order. A single row larger than `maxBytes` gets a frame of its own, which
 * `fitsServerFrame` refuses: keep a row well under a frame.
 */
export function snapshotFrames(snapshot: SnapshotFrame, maxBytes = MAX_SERVER_FRAME_BYTES): SnapshotFrame[] {
  const { sedimentId, hash } = snapshot;
  const frames: SnapshotFrame[] = [];
  // The envelope of a frame, `more` included: every frame is counted as if more followed.
  const envelope = utf8Length(JSON.stringify({ t: "snapshot", sedimentId, hash, tables: {}, more: true }));
  let tables = new Map<string, SnapshotTable>();
  let size = envelope;
  const cut = () => {
    frames.push({ t: "snapshot", sedimentId, hash, tables: Object.fromEntries(tables), more: true });
    tables = new Map();
    size = envelope;
  };
  for (const [name, table] of Object.entries(snapshot.tables)) {
    // The table's entry with no rows, and the comma before it.
    const head = utf8Length(JSON.stringify({ [name]: { columns: table.columns, key: table.key, rows: [] } })) + 1;
    let part: SnapshotTable | undefined;
    const start = () => {
      part = { columns: table.columns, key: table.key, rows: [] };
      tables.set(name, part);
      size += head;
    };
    if (size + head > maxBytes && tables.size > 0) cut();
    start();
    for (const row of table.rows) {
      const bytes = utf8Length(JSON.stringify(row)) + 1;
      if (size + bytes > maxBytes && (part!.rows.length > 0 || tables.size > 1)) {
        cut();
        start();
      }
      part!.rows.push(row);
      size += bytes;
    }
  }
  frames.push({ t: "snapshot", sedimentId, hash, tables: Object.fromEntries(tables) });
  return frames;
}

/**
 * The frames of one snapshot joined into one, as `snapshotFrames` split it; undefined when they
 * do not belong together: another sediment, a table's columns or key changed between frames,
 * `more` on the last frame or missing before it.
 */
export function joinSnapshot(frames: readonly SnapshotFrame[]): SnapshotFrame | undefined {
  const first = frames[0];
  if (!first) return undefined;
  const tables = new Map<string, SnapshotTable>();
  for (const [i, frame] of frames.entries()) {
    if (frame.sedimentId !== first.sedimentId || frame.hash !== first.hash || (frame.more === true) !== i < frames.length - 1) return undefined;
    for (const [name, table] of Object.entries(frame.tables)) {
      const held = tables.get(name);
      if (!held) tables.set(name, { columns: table.columns, key: table.key, rows: [...table.rows] });
      else if (JSON.stringify([held.columns, held.key]) !== JSON.stringify([table.columns, table.key])) return undefined;
      // One at a time: a spread of a large part would overflow the call stack.
      else for (const row of table.rows) held.rows.push(row);
    }
  }
  return { t: "snapshot", sedimentId: first.sedimentId, hash: first.hash, tables: Object.fromEntries(tables) };
}

/**
 * A diff as the frames that carry it, each at most `maxBytes` of JSON text: one frame when it
 * fits, else several of the same sediment (all but the last marked `more`), its changes split
 * between them in order. A single change larger than `maxBytes` gets a frame of its own, which
 * `fitsServerFrame` refuses.
 */
export function diffFrames(diff: DiffFrame, maxBytes = MAX_SERVER_FRAME_BYTES): DiffFrame[] {
  const { sedimentId, hash, prevHash } = diff;
  const envelope = utf8Length(JSON.stringify({ t: "diff", sedimentId, hash, prevHash, changes: [], more: true }));
  const frames: DiffFrame[] = [];
  let changes: SyncChange[] = [];
  let size = envelope;
  for (const c of diff.changes) {
    const bytes = utf8Length(JSON.stringify(c)) + 1;
    if (size + bytes > maxBytes && changes.length > 0) {
      frames.push({ t: "diff", sedimentId, hash, prevHash, changes, more: true });
      changes = [];
      size = envelope;
    }
    changes.push(c);
    size += bytes;
  }
  if (frames.length === 0) return [diff];
  frames.push({ t: "diff", sedimentId, hash, prevHash, changes });
  return frames;
}

/**
 * The frames of one diff joined into one, as `diffFrames` split it; undefined when they do not
 * belong together: another sediment or link, `more` on the last frame or missing before it.
 */
export function joinDiff(frames: readonly DiffFrame[]): DiffFrame | undefined {
  const first = frames[0];
  if (!first) return undefined;
  const changes: SyncChange[] = [];
  for (const [i, frame] of frames.entries()) {
    if (frame.sedimentId !== first.sedimentId || frame.hash !== first.hash || frame.prevHash !== first.prevHash || (frame.more === true) !== i < frames.length - 1) return undefined;
    // One at a time: a spread of a large part would overflow the call stack.
    for (const c of frame.changes) changes.push(c);
  }
  return { t: "diff", sedimentId: first.sedimentId, hash: first.hash, prevHash: first.prevHash, changes };
}
