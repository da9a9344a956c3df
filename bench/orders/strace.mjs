// Counts the durable writes an order costs, with strace on workerd: `fsync`s and `pwrite`s per order,
// by file (a coordinator's WAL, its alarm, the products' WAL, SQLite's temporary sub-journals,
// wrangler's trace store), through the OrderAttractor shards and sent directly. Counts, not
// timings: they do not move with the machine's load (the bench's rates do).
//
//   node bench/orders/strace.mjs <bench Worker folder> [n=100] [c=1] [rounds=2]
//
// The folder is a `BENCH_DIST` of bench/run.mjs (its index.js). It starts `wrangler dev` on it,
// warms both modes up (20 orders each), then per round and mode attaches `strace -f` to workerd for
// one `/orders` request of n orders, c in flight. Run it with `X_LOCAL_OBSERVABILITY=false` in the
// environment to leave wrangler's local trace store out.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { devServer } from "../dev.mjs";

const [distArg, n = "100", c = "1", rounds = "2"] = process.argv.slice(2);
if (!distArg) {
  console.error("usage: node bench/orders/strace.mjs <bench Worker folder> [n] [c] [rounds]");
  process.exit(2);
}
const tmp = mkdtempSync(join(tmpdir(), "orders-strace-"));
// Observability as the bench Worker's config has it; the trace store follows X_LOCAL_OBSERVABILITY.
const dev = devServer(distArg, tmp, { observability: true });
const { child, post } = dev;

/** The workerd processes of this `wrangler dev`. */
function workerdPids() {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        return comm === "workerd" && Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === child.pid;
      } catch {
        return false;
      }
    });
}

/** What a written file is. */
function kindOf(path) {
  if (path.includes("miniflare-wobs-trace-store")) return "trace store";
  if (path.includes("etilqs_")) return "sub-journal (temp)";
  if (path.endsWith("metadata.sqlite-wal") || path.endsWith("metadata.sqlite")) return "alarms";
  const wal = path.endsWith("-wal") ? "WAL" : "db";
  if (path.includes("OrderAttractor")) return `coordinator ${wal}`;
  if (path.includes("NoemaReservations")) return `product ${wal}`;
  return "other";
}

const LINE = /^\d+\s+(pwrite64|fsync|fdatasync)\(\d+<([^>]*)>/;

try {
  await dev.ready();
  for (const mode of ["direct", "orders"]) await post("/orders", { mode, name: `warm-${mode}`, n: "20", c });
  const pids = workerdPids();
  for (let round = 0; round < Number(rounds); round++) {
    for (const mode of ["direct", "orders"]) {
      const out = join(tmp, `${mode}-${round}.txt`);
      const strace = spawn("strace", ["-f", "-y", "-qq", "-e", "trace=pwrite64,fsync,fdatasync", "-o", out, ...pids.flatMap((p) => ["-p", p])], { stdio: "ignore" });
      await sleep(1500);
      await post("/orders", { mode, name: `s${round}-${mode}`, n, c });
      await sleep(300);
      strace.kill("SIGINT");
      await new Promise((ok) => strace.on("exit", ok));
      const counts = new Map();
      for (const line of readFileSync(out, "utf8").split("\n")) {
        const m = LINE.exec(line);
        if (!m) continue;
        const key = `${m[1] === "pwrite64" ? "pwrite" : "fsync"} ${kindOf(m[2])}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const per = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${(v / Number(n)).toFixed(2)}`);
      console.log(`${mode}, round ${round + 1} (${n} orders, c=${c}), per order: ${per.join(", ")}`);
    }
  }
} finally {
  dev.stop();
}
