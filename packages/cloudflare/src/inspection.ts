// What the Attractor answers the inspector besides its log: the tables of its law, row by row,
// a bounded sample and a bounded tail check of its chain, and the hibernatable WebSocket that
// tells open pages a Seal was committed. Read-only, and bounded: nothing here loads a whole log.
import type { Checkpoint, Nomos, Row, Sediment, SqlValue } from "@noema/core";
import { GENESIS_HASH, MAX_PAGE, type SedimentLog, sedimentHash, type VerifyPass } from "@noema/core/runtime";
import { TaggedSockets } from "./sockets.js";

/** A table of the law held, as declared: its columns in declaration order. */
export interface TableInfo {
  name: string;
  columns: { name: string; type: string; primaryKey: boolean; notNull: boolean }[];
}

/** One page of a table's rows, in storage order; `next` is the cursor of the next page when there is one. */
export interface RowsPage {
  table: string;
  columns: string[];
  rows: SqlValue[][];
  next?: number;
}

/** Rows per page of a table when the caller does not say. */
export const ROWS_PAGE = 25;
/** Sediments a chart samples at most, evenly spaced over the whole log (each one indexed read). */
export const MAX_SAMPLE = 200;
/** Sediments the World page re-hashes at most: the newest ones, so a page never walks the whole chain. */
export const TAIL_CHECK = 256;

export function tablesOf(nomos: Nomos): TableInfo[] {
  return Object.entries(nomos.tables).map(([name, spec]) => ({
    name,
    columns: Object.entries(spec.columns).map(([column, c]) => ({
      name: column,
      type: c.spec.type,
      primaryKey: c.spec.primaryKey || (spec.primaryKey?.includes(column) ?? false),
      notNull: c.spec.notNull,
    })),
  }));
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * A page of `table`, which must be a table of `nomos`: the SQL is made from the declaration
 * alone (quoted names, bound cursor and limit), never from anything a client wrote. Tables are
 * never WITHOUT ROWID, so the rowid is a stable cursor.
 */
export function rowsOf(nomos: Nomos, query: (sql: string, ...params: SqlValue[]) => Row[], table: string, page: { after?: number; limit?: number }): RowsPage {
  const spec = Object.hasOwn(nomos.tables, table) ? nomos.tables[table] : undefined;
  if (!spec) throw new RangeError(`${nomos.name} v${nomos.version} has no table ${JSON.stringify(table)}; its tables are ${Object.keys(nomos.tables).join(", ")}`);
  const columns = Object.keys(spec.columns);
  const limit = Number.isInteger(page.limit) ? Math.min(Math.max(page.limit!, 1), MAX_PAGE) : ROWS_PAGE;
  const after = Number.isInteger(page.after) ? page.after! : 0;
  const found = query(`SELECT rowid AS "$rowid", ${columns.map(quote).join(", ")} FROM ${quote(table)} WHERE rowid > ? ORDER BY rowid LIMIT ?`, after, limit + 1);
  const rows = found.slice(0, limit);
  const result: RowsPage = { table, columns, rows: rows.map((r) => columns.map((c) => r[c] ?? null)) };
  return found.length > limit ? { ...result, next: Number(rows[rows.length - 1]!.$rowid) } : result;
}

/**
 * Up to `count` sediments, oldest first: every one when the log is that short; otherwise a
 * quarter of them the newest in a row (every recent change seen), the rest evenly spaced over
 * the entries before those.
 */
export function sampleOf(log: SedimentLog, count: number): Sediment[] {
  const n = Number.isInteger(count) ? Math.min(Math.max(count, 4), MAX_SAMPLE) : MAX_SAMPLE;
  const head = log.head().sedimentId;
  if (head <= n) return log.page(0, n).sediments;
  const recent = Math.floor(n / 4);
  const spread = n - recent;
  const before = head - recent;
  const ids = new Set<number>();
  for (let i = 0; i < spread; i++) ids.add(1 + Math.round((i * (before - 1)) / (spread - 1)));
  return [...[...ids].flatMap((id) => log.page(id - 1, 1).sediments), ...log.page(before, recent).sediments];
}

/** The newest sediments re-hashed and linked: `ok` says nothing about entries before `from`. */
export type TailCheck = { ok: true; from: number; length: number; head: string } | { ok: false; from: number; length: number; brokenAt: number };

/**
 * Re-hashes the newest `count` sediments and checks each links to the one before it: a bounded
 * check for a page render (a full verify walks the whole chain). `length` is the head's id.
 */
export function tailCheck(log: SedimentLog, count = TAIL_CHECK): TailCheck {
  const head = log.head();
  const n = Number.isInteger(count) ? Math.min(Math.max(count, 1), MAX_PAGE) : TAIL_CHECK;
  const from = Math.max(1, head.sedimentId - n + 1);
  if (head.sedimentId === 0) return { ok: true, from: 1, length: 0, head: GENESIS_HASH };
  let prevHash = from === 1 ? GENESIS_HASH : (log.page(from - 2, 1).sediments[0]?.hash ?? "");
  let expected = from;
  for (const s of log.page(from - 1, n).sediments) {
    if (s.sedimentId !== expected || s.prevHash !== prevHash || sedimentHash(s) !== s.hash) return { ok: false, from, length: head.sedimentId, brokenAt: s.sedimentId };
    prevHash = s.hash;
    expected++;
  }
  if (expected !== head.sedimentId + 1) return { ok: false, from, length: head.sedimentId, brokenAt: expected };
  return { ok: true, from, length: head.sedimentId, head: head.hash };
}

/** What the background verification last established, as stored: reading it verifies nothing. */
export interface ChainStatus {
  /** The head the last complete background pass verified from the anchor. */
  checkpoint: Checkpoint | null;
  /** The latest background pass: running while `finishedAt` is null, and the first break it found. */
  pass: VerifyPass | null;
}

/** The tag of the inspector's sockets among any others the Attractor may accept. */
const LIVE_TAG = "noema-live";

/**
 * The inspector's open pages, told the log's new head after each commit (their sockets looked up
 * only while one may be open, see TaggedSockets). A page's socket is hibernatable: it is sent
 * nothing but `{head}`, and a client's "ping" is answered without waking (auto-response).
 */
export class LivePages {
  private readonly sockets: TaggedSockets;

  constructor(private readonly ctx: DurableObjectState) {
    this.sockets = new TaggedSockets(ctx, LIVE_TAG);
  }

  accept(request: Request, head: number): Response {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.sockets.accept(server);
    server.send(JSON.stringify({ head }));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Tells every open page the log's new head. A socket that went away is skipped. */
  announce(head: number): void {
    const sockets = this.sockets.list();
    if (sockets.length === 0) return;
    const message = JSON.stringify({ head });
    for (const ws of sockets) {
      try {
        ws.send(message);
      } catch {
        // Closed meanwhile: the runtime drops it from getWebSockets().
      }
    }
  }
}

/** Completes a close the client began; the runtime may have answered it already. */
export function closeLive(ws: WebSocket): void {
  try {
    ws.close(1000, "closed");
  } catch {
    // Already closed.
  }
}
