// Counts, with strace, where SQLite's statement sub-journal spills to a temp file in the bench's
// in-DO profile parts (one request = one transaction; each Intent a `transactionSync` savepoint).
// A savepoint's sub-journal stays in memory up to 64 KiB (16 page records); past that it is copied to
// `/var/tmp/etilqs_*` for the rest of the transaction, and every later journaled page costs two
// `pwrite`s (its 4-byte page number and its 4 KiB). Counts, not timings: they do not care about load.
//
//   node bench/strace-spill.mjs <parts> <n> [reps]    e.g. reserveOnly,reserveAndFreeze 1000 3
//   node bench/strace-spill.mjs --parse <strace file> <n> <parts> [reps]   the analysis of an earlier trace
//   STRACE_PAGES=1 node bench/strace-spill.mjs ...   also which pages the spilling op journaled, and
//                                                    of what kind (the trace keeps the written bytes)
//
// Runs `bench/run.mjs` with every other part zeroed (BENCH_DIST reuses a bundle), under
// `strace -f --seccomp-bpf -y -e trace=pwrite64,fsync`, and prints, per part and round (each on its
// fresh object, so one transaction each): the WAL frames its commit wrote, the temp-file writes of
// its transaction, and after which op it spilled. Each op's savepoint, once released, makes the
// next op journal from offset 0 of the temp file, so the ops after the spill are the writes at
// offset 0 (every op journals at least the stock row's page): the spill came at op n - rewinds.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Every part but the profile zeroed, as the freeze line of the quiet set runs it. */
const ZEROED = {
  BENCH_OBSERVABILITY: "off", BENCH_UPLOAD: "0", BENCH_STARTUP_SAMPLES: "0", BENCH_SYNC_SUBSCRIBERS: "", BENCH_SYNC_ROWS: "0",
  BENCH_SYNC_BUNDLE: "0", BENCH_SYNC_APPLY: "0", BENCH_CONNECTIONS: "", BENCH_HTTP_TARGETS: "", BENCH_RPC_CALLS: "0",
  BENCH_RPC_CONCURRENCY: "", BENCH_WAKE_N: "0", BENCH_PENDING_N: "0", BENCH_GROWTH: "", BENCH_GROWTH_WAKE_N: "0",
  BENCH_VERIFY_N: "0", BENCH_BYTES_N: "0", BENCH_ARCHIVE_N: "0", BENCH_MESSAGES_N: "0", BENCH_ORDERS_N: "0",
  BENCH_LOOP_N: "0", BENCH_LOOP_SECONDS: "0",
};
/** SQLite's page, and a sub-journal record: the page number (4 bytes) then the page. */
const PAGE = 4096;
/** The record count at which an in-memory sub-journal passes 64 KiB: 16 × (4 + 4096) > 65,536. */
const SPILL_RECORDS = 16;

/** With STRACE_PAGES=1 the trace keeps each write's bytes (`-s`, `-x`): enough for the spill's 16 records. */
const KEEP_BYTES = ["-s", String(SPILL_RECORDS * (4 + PAGE) + 64), "-x"];
/** A B-tree page's first byte (page 1's is the file header's "S"). */
const PAGE_KINDS = { 2: "interior index", 5: "interior table", 10: "leaf index", 13: "leaf table", 83: "header" };
/** A string as `strace -x` writes it: printable bytes as they are, the rest escaped. */
function straceBytes(text) {
  const bytes = [];
  const simple = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, "\\": 92 };
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "\\") bytes.push(text.charCodeAt(i));
    else if (text[i + 1] === "x") {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    }
    else bytes.push(simple[text[++i]] ?? text.charCodeAt(i));
  }
  return Uint8Array.from(bytes);
}
/** The records of a spill's first write: each page's number and kind (the last one's page is written next, so its kind is not known). */
function spilledPages(line) {
  const data = /, "((?:[^"\\]|\\.)*)"(?:\.\.\.)?, \d+, 0\)/.exec(line)?.[1];
  if (data === undefined) return undefined;
  const b = straceBytes(data);
  // A trace without the bytes (no STRACE_PAGES=1) shows 32 of them, which name no page.
  if (b.length < 4 + PAGE) return undefined;
  const pages = [];
  for (let at = 0; at + 4 <= b.length; at += 4 + PAGE) {
    const page = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
    pages.push(at + 4 < b.length ? `${page} (${PAGE_KINDS[b[at + 4]] ?? b[at + 4]})` : String(page));
  }
  return pages;
}

/** Where wrangler dev keeps its own trace spans: a SQLite database that spills too, at the end. */
const TRACE_STORE = "miniflare-wobs-trace-store";
const LINE = /^(\d+)\s+(?:[\d:.]+\s+)?(pwrite64|fsync|fdatasync)\((\d+)<([^>]*)>/;
const SIZE_OFFSET = /, (\d+), (\d+)\)? *(?:= -?\d+|<unfinished \.\.\.>)\s*$/;

/**
 * Per commit of a Noema DO (a WAL fsync), in trace order: its WAL frames and the temp-file writes of
 * its transaction. A spill's temp file (a new `etilqs_*` name each transaction) is given to the first
 * WAL fsync of a Noema DO or of wrangler's trace store after its last write; one that none follows
 * (the trace store, killed at shutdown) is listed as uncommitted.
 */
function analyse(text) {
  const files = new Map(); // Noema DO file -> its number, in order of first write
  const temps = new Map(); // temp file -> its writes
  const fsyncs = []; // every WAL fsync: its line, its database and the frames written since the last
  const frames = new Map();
  let at = 0;
  for (const line of text.split("\n")) {
    at++;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, , call, , path] = m;
    const so = SIZE_OFFSET.exec(line);
    const [size, offset] = so ? [Number(so[1]), Number(so[2])] : [NaN, NaN];
    const temp = /etilqs_[0-9a-f]+/.exec(path)?.[0];
    if (temp) {
      if (call !== "pwrite64") continue;
      const t = temps.get(temp) ?? temps.set(temp, fresh()).get(temp);
      t.writes++;
      t.last = at;
      if (offset === 0 && size > 4) {
        t.spills.push({ bytes: size, records: Math.round(size / (4 + PAGE)), pages: spilledPages(line) });
        t.perSavepoint.push(Math.round(size / (4 + PAGE)));
      } else if (offset === 0 && size === 4) {
        t.rewinds++;
        t.perSavepoint.push(0);
      }
      if (size === 4) {
        t.pages++;
        t.perSavepoint[t.perSavepoint.length - 1]++;
      }
      continue;
    }
    if (!path.endsWith(".sqlite-wal")) continue;
    const noema = /NoemaReservations\/([0-9a-f]{64})\.sqlite-wal$/.exec(path)?.[1];
    const db = noema ? `DO ${files.get(noema) ?? files.set(noema, files.size).get(noema)}` : path.split("/").at(-2);
    if (call === "pwrite64") {
      if (size === PAGE) frames.set(db, (frames.get(db) ?? 0) + 1);
    } else {
      fsyncs.push({ at, db, frames: frames.get(db) ?? 0, ...fresh() });
      frames.delete(db);
    }
  }
  const uncommitted = [];
  for (const t of temps.values()) {
    // Small side databases (the namespace's metadata.sqlite, where the alarm lives) commit in between.
    const owner = fsyncs.find((f) => f.at > t.last && (f.db.startsWith("DO ") || f.db === TRACE_STORE));
    if (!owner) {
      uncommitted.push({ db: "uncommitted", frames: 0, ...t });
      continue;
    }
    owner.writes += t.writes;
    owner.pages += t.pages;
    owner.rewinds += t.rewinds;
    owner.spills.push(...t.spills);
    owner.perSavepoint.push(...t.perSavepoint);
  }
  return [...fsyncs, ...uncommitted].filter((c) => (c.db.startsWith("DO ") && c.frames > 0) || c.writes > 0);
}

function fresh() {
  return { writes: 0, pages: 0, rewinds: 0, spills: [], perSavepoint: [] };
}

/** The order the /profile route runs its fresh-object parts in (reversed in odd rounds). */
const FRESH_ORDER = ["reserveOnly", "reserveAndFreeze", "sedimenterFreezeCommitted", "sqlFreezeRowCommitted", "sqlReserveCommitted", "sqlSedimentRowCommitted", "interpretCommitted", "sedimenterCommitted"];
/** Commits of a fresh object's `setup` (its schema, then the stocking Intent) before a part runs on it. */
const SETUP_COMMITS = 3;

function describe(c, n) {
  const head = `WAL frames ${c.frames} (${(c.frames / n).toFixed(2)}/op), temp-file pwrites ${c.writes} (${(c.writes / n).toFixed(2)}/op, ${c.pages} pages)`;
  if (!c.spills.length) return `${head}, no spill`;
  const sorted = [...c.perSavepoint].sort((a, b) => a - b);
  const over = sorted.filter((k) => k >= SPILL_RECORDS).length;
  const again = c.spills.length > 1 ? ` (${c.spills.length} spills)` : "";
  const pages = c.spills[0].pages ? `\n    the spilling op journaled: ${c.spills[0].pages.join(", ")}` : "";
  return `${head}, spilled${again} at op ${n - c.rewinds}; then per op ${sorted[Math.floor(sorted.length / 2)]} pages median, ${sorted.at(-1)} max, ${over} of ${sorted.length} ops at ${SPILL_RECORDS}+${pages}`;
}

function report(commits, n, parts, reps) {
  const byDo = new Map();
  for (const c of commits.filter((c) => c.db.startsWith("DO "))) (byDo.get(c.db) ?? byDo.set(c.db, []).get(c.db)).push(c);
  const partDos = [...byDo.values()].filter((cs) => cs.length > SETUP_COMMITS);
  const wanted = FRESH_ORDER.filter((p) => parts?.includes(p));
  const labels = [];
  for (let r = 0; r < reps; r++) labels.push(...(r % 2 ? [...wanted].reverse() : wanted).map((p) => `${p} round ${r}`));
  if (labels.length !== partDos.length) console.log(`  (${partDos.length} objects ran a part, ${labels.length} expected: labels are a guess)`);
  partDos.forEach((cs, i) => console.log(`  ${labels[i] ?? `object ${i}`}: ${describe(cs.at(-1), n)}`));
  for (const c of commits.filter((c) => !c.db.startsWith("DO ") && c.writes > 0)) {
    console.log(`  (${c.db}: ${c.writes} temp-file pwrites, not a Noema DO's)`);
  }
}

const [first, second, third, fourth] = process.argv.slice(2);
if (first === "--parse") {
  report(analyse(readFileSync(second, "utf8")), Number(third), fourth?.split(","), Number(process.argv[6] ?? 1));
} else if (first && second) {
  const n = Number(second);
  const out = join(mkdtempSync(join(tmpdir(), "strace-spill-")), "strace.txt");
  const env = { ...process.env, ...ZEROED, BENCH_PROFILE_N: String(n), BENCH_PROFILE_REPS: third ?? "1", BENCH_PROFILE_PARTS: first };
  const args = ["-f", "-tt", "--seccomp-bpf", "-y", ...(process.env.STRACE_PAGES === "1" ? KEEP_BYTES : []), "-e", "trace=pwrite64,fsync,fdatasync", "-o", out, process.execPath, "bench/run.mjs"];
  const run = spawnSync("strace", args, { env, encoding: "utf8" });
  // Times under strace are not the figure (every traced write stops workerd), so none is printed.
  console.log(`${first} n=${n}: trace ${out}`);
  if (run.status !== 0) console.log(run.stdout.slice(-2000), run.stderr.slice(-2000));
  report(analyse(readFileSync(out, "utf8")), n, first.split(","), Number(third ?? 1));
} else {
  console.log("usage: node bench/strace-spill.mjs <parts> <n> [reps] | --parse <strace file> <n> <parts> [reps]");
}
