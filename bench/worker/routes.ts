// The Worker's endpoints the runner (bench/run.mjs) drives: each one a measurement, its figures as JSON.
import type { Intent, Verification } from "@noema/core";
import { DEFAULT_SEGMENT_ENTRIES } from "@noema/core/runtime";
import { app } from "../../apps/inventory/src/api.js";
import { type Env, freshNoema, hand, handSync, ID, LOCATION, type LogMode, noema, pool, type ReserveArgs } from "./env.js";
import { checkReserveArgs, type HandWrittenReservations } from "./hand.js";
import { COMMITTED_PARTS, FREEZE_PARTS, FREEZE_SPLIT_PARTS, iterations, PROFILE_PARTS, type ProfilePart, PURE_PARTS, reserveIntent, setStockV2 } from "./noema.js";
import { ordersBench } from "./orders.js";

/** `noema-prebuilt` (RPC only, diagnostic): one Intent built per measurement, so the Worker-side build is left out. */
export type Target = "hand-plain" | "hand-chain" | "noema" | "noema-prebuilt";
const TARGETS: readonly Target[] = ["hand-plain", "hand-chain", "noema", "noema-prebuilt"];

/** Writes left out before `/archive-stall` times any, and timed after archival settles. */
const ARCHIVE_STALL_WARMUP = 20;
const ARCHIVE_STALL_AFTER = 20;
const isNoema = (t: Target) => t === "noema" || t === "noema-prebuilt";
const modeOf = (t: Target): LogMode => (t === "hand-plain" ? "plain" : "chain");


/** One RPC reservation as each side's client makes it. */
function rpcReserver(env: Env, target: Target, name: string): () => Promise<void> {
  const args: ReserveArgs = { locationId: LOCATION, quantity: 1 };
  if (isNoema(target)) {
    // As the inventory API does: build (validate) on the Worker, sediment over RPC.
    const w = noema(env, name);
    const prebuilt = target === "noema-prebuilt" ? reserveIntent(args) : null;
    return async () => {
      const seal = await w.sedimentation(prebuilt ?? reserveIntent(args));
      if (!seal.success) throw new Error(seal.reason.message);
    };
  }
  const stub = hand(env, name);
  const mode = modeOf(target);
  return async () => {
    await stub.reserve(args, mode);
  };
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

function target(value: string | null | undefined): Target {
  if (!TARGETS.includes(value as Target)) throw new BadRequest(`target must be one of ${TARGETS.join(", ")}`);
  return value as Target;
}

function int(url: URL, key: string, fallback?: number): number {
  const raw = url.searchParams.get(key);
  const n = raw === null ? fallback : Number(raw);
  if (n === undefined || !Number.isInteger(n) || n < 0) throw new BadRequest(`${key} must be a non-negative integer`);
  return n;
}

function nameOf(url: URL): string {
  const name = url.searchParams.get("name") ?? "";
  if (!ID.test(name)) throw new BadRequest("name must be a valid id");
  return name;
}

class BadRequest extends Error {}

/** One reservation per HTTP request: JSON in, JSON out, as small as a hand-written Worker gets. */
async function httpReserve(request: Request, env: Env, t: Target, name: string): Promise<Response> {
  let body: ReserveArgs;
  try {
    body = (await request.json()) as ReserveArgs;
  } catch {
    return json({ error: { code: "invalid_input", message: "body must be valid JSON" } }, 400);
  }
  if (isNoema(t)) {
    let intent: Intent;
    try {
      intent = reserveIntent(body);
    } catch (e) {
      return json({ error: { code: "invalid_input", message: String(e) } }, 400);
    }
    const seal = await noema(env, name).sedimentation(intent);
    if (!seal.success) return json({ error: { code: "refused", message: seal.reason.message }, seal }, 409);
    return json({ reservation: seal.outputs[0], seal }, 201);
  }
  const problem = checkReserveArgs(body);
  if (problem) return json({ error: { code: "invalid_input", message: problem } }, 400);
  try {
    return json({ reservation: await hand(env, name).reserve(body, modeOf(t)) }, 201);
  } catch (e) {
    return json({ error: { code: "refused", message: String(e) } }, 409);
  }
}

async function route(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === "/health") return json({ ok: true });
  if (path.startsWith("/api/")) return app.fetch(request, env, ctx);
  // The sync baseline's subscribers (Noema's subscribe through the inventory app's /api/products/:id/sync).
  const sub = /^\/sync\/hand\/([A-Za-z0-9._:-]{1,128})$/.exec(path);
  if (sub) return handSync(env, sub[1]!).fetch(request);
  const http = /^\/http\/([a-z-]+)\/([A-Za-z0-9._:-]{1,128})$/.exec(path);
  if (http && request.method === "POST") return httpReserve(request, env, target(http[1]), http[2]!);
  if (request.method !== "POST") return json({ error: { code: "not_found", message: `no route for ${request.method} ${path}` } }, 404);

  switch (path) {
    case "/setup": {
      // Enough stock for any run: every reservation holds one unit.
      const t = target(url.searchParams.get("target"));
      const name = nameOf(url);
      const quantity = int(url, "quantity", 1_000_000_000);
      if (isNoema(t)) {
        const seal = await noema(env, name).setup(LOCATION, quantity);
        if (!seal.success) throw new Error(seal.reason.message);
        return json({ ok: true });
      }
      const stub = hand(env, name);
      await stub.setStock(LOCATION, quantity);
      return json({ ok: true, schemaMatches: await stub.schemaMatches() });
    }
    case "/sync-setup": {
      // A World to subscribe to: stock at LOCATION and `locations` - 1 more rows, on either side.
      const t = target(url.searchParams.get("target"));
      const name = nameOf(url);
      const locations = int(url, "locations", 1);
      if (isNoema(t)) {
        const stub = await freshNoema(env, name);
        if (locations > 1) await stub.stockLocations(locations);
        return json({ ok: true });
      }
      const stub = handSync(env, name);
      await stub.setStock(LOCATION, 1_000_000_000);
      if (locations > 1) await stub.fillLocations(locations);
      return json({ ok: true, wholeStateBytes: await stub.wholeStateBytes() });
    }
    case "/sync-write": {
      // One reservation, whose change reaches the World's subscribers: as the inventory API writes on the Noema side.
      const t = target(url.searchParams.get("target"));
      const name = nameOf(url);
      const args: ReserveArgs = { locationId: LOCATION, quantity: 1 };
      // `at`: when the DO began the write (its clock is the machine's), where latency "from the Seal" starts.
      const at = isNoema(t) ? await noema(env, name).stampedSedimentation(reserveIntent(args)) : await handSync(env, name).write(args);
      return json({ at });
    }
    case "/sync-inside": {
      // k writes inside the World's DO, each broadcast to its subscribers: the broadcast's cost without the network.
      const t = target(url.searchParams.get("target"));
      const name = nameOf(url);
      const k = int(url, "k");
      const ms = isNoema(t) ? await noema(env, name).loop(k) : await handSync(env, name).loopWrites(k);
      return json({ k, ms });
    }
    case "/loop": {
      const t = target(url.searchParams.get("target"));
      const name = nameOf(url);
      const n = int(url, "n");
      const start = Date.now();
      const insideMs = isNoema(t) ? await noema(env, name).loop(n) : await hand(env, name).loop(n, modeOf(t));
      // Outside time includes one RPC round trip and the output-gate commit shared by all n.
      return json({ n, insideMs, outsideMs: Date.now() - start });
    }
    case "/rpc": {
      const t = target(url.searchParams.get("target"));
      const reserve = rpcReserver(env, t, nameOf(url));
      const k = int(url, "k");
      const c = int(url, "c", 1);
      const start = Date.now();
      await pool(k, c, reserve);
      return json({ k, c, ms: Date.now() - start });
    }
    case "/profile": {
      // `reps` rounds, each on fresh DOs, every part in turn; the fastest round per part is kept,
      // which is the figure least disturbed by whatever else runs on the machine.
      const n = int(url, "n");
      const reps = int(url, "reps", 3);
      const name = nameOf(url);
      // `parts`: a comma-separated subset to time (all when absent).
      const only = url.searchParams.get("parts")?.split(",").filter(Boolean);
      const wanted = (part: string) => !only?.length || only.includes(part) || (part.startsWith("hand-") && only.includes("hand"));
      const best: Record<string, number> = {};
      // Every round's time too: parts timed next to each other in a round (the fresh ones) give a ratio per round.
      const rounds: Record<string, number[]> = {};
      const keep = (part: string, ms: number) => {
        best[part] = Math.min(best[part] ?? Infinity, ms);
        (rounds[part] ??= []).push(ms);
      };
      for (let r = 0; r < reps; r++) {
        for (const mode of ["plain", "chain"] as const) {
          if (!wanted(`hand-${mode} reserve`)) continue;
          const stub = hand(env, `${name}-${r}-${mode}`);
          await stub.setStock(LOCATION, 1_000_000_000);
          keep(`hand-${mode} reserve`, await stub.loop(n, mode));
        }
        const stub = noema(env, `${name}-${r}`);
        const seal = await stub.setup(LOCATION, 1_000_000_000);
        if (!seal.success) throw new Error(seal.reason.message);
        for (const part of PROFILE_PARTS.filter(wanted)) keep(part, (await stub.profile(part, iterations(part, n))).ms);
        const fresh = [...FREEZE_PARTS, ...FREEZE_SPLIT_PARTS, ...COMMITTED_PARTS].filter(wanted);
        for (const part of r % 2 ? fresh.reverse() : fresh) {
          const own = await freshNoema(env, `${name}-${r}-${part}`);
          keep(part, (await own.profile(part, n)).ms);
        }
      }
      const parts = Object.entries(best).map(([part, ms]) => {
        const count = part in PURE_PARTS ? iterations(part as ProfilePart, n) : n;
        return [part, { n: count, ms, microsPerOp: count > 0 ? (ms * 1000) / count : 0, rounds: rounds[part] }];
      });
      return json(Object.fromEntries(parts));
    }
    case "/rpc-freeze": {
      // One reservation Intent, built once: frozen from code for an hour, or sedimented, k times.
      const mode = url.searchParams.get("mode");
      if (mode !== "freeze" && mode !== "sediment") throw new BadRequest("mode must be freeze or sediment");
      const stub = await freshNoema(env, nameOf(url));
      const intent = reserveIntent({ locationId: LOCATION, quantity: 1 });
      const k = int(url, "k");
      const c = int(url, "c", 1);
      const start = Date.now();
      await pool(k, c, async () => {
        if (mode === "freeze") {
          const r = await stub.freeze(intent, { delaySeconds: 3600 });
          if (!r.ok) throw new Error(`freeze refused: ${JSON.stringify(r.issues)}`);
        } else {
          const seal = await stub.sedimentation(intent);
          if (!seal.success) throw new Error(seal.reason.message);
        }
      });
      return json({ mode, k, c, ms: Date.now() - start });
    }
    case "/growth": {
      // Write cost at n active reservations: a fresh DO per side and n, filled in bulk, then probed.
      const name = nameOf(url);
      const n = int(url, "n");
      const k = int(url, "k", 200);
      const rounds = Math.max(1, int(url, "rounds", 3));
      const mine = await freshNoema(env, `${name}-noema`);
      await mine.fill(n);
      const theirs = hand(env, `${name}-hand`);
      await theirs.setStock(LOCATION, 1_000_000_000);
      await theirs.fill(n);
      return json({ n, noema: await mine.growthProbe(k, rounds), hand: await theirs.growthProbe(k, rounds) });
    }
    case "/release-wake": {
      const stub = await freshNoema(env, nameOf(url));
      return json(await stub.releaseWakeBench(int(url, "n"), int(url, "others", 0)));
    }
    case "/wake": {
      const stub = await freshNoema(env, nameOf(url));
      return json(await stub.wakeBench(int(url, "n"), int(url, "plain", 0)));
    }
    case "/archive": {
      const stub = env.ARCHIVE_BENCH.getByName(nameOf(url));
      return json(await stub.archiveBench(int(url, "n"), int(url, "segment", DEFAULT_SEGMENT_ENTRIES)));
    }
    case "/archive-stall": {
      // Writes over RPC, one at a time: alone, then while one segment is being archived, then
      // just after (its last transaction's commit lands there). Each write waits a turn of this
      // Worker's event loop first, as calls from a network do: back to back between two objects
      // of one local workerd, they never let the object's timers fire, so archival's pauses
      // would never end.
      const segment = int(url, "segment", DEFAULT_SEGMENT_ENTRIES);
      const stub = env.ARCHIVE_BENCH.getByName(nameOf(url));
      await stub.fillLog(segment, segment);
      const write = async () => {
        await new Promise((resolve) => setTimeout(resolve, 0));
        const t = Date.now();
        const seal = await stub.sedimentation(setStockV2);
        if (!seal.success) throw new Error(seal.reason.message);
        return Date.now() - t;
      };
      // Not counted: the first writes after a bulk fill pay for it (its checkpoint, its garbage).
      for (let i = 0; i < ARCHIVE_STALL_WARMUP; i++) await write();
      const alone: number[] = [];
      for (let i = 0; i < int(url, "k", 200); i++) alone.push(await write());
      let done = false;
      const start = Date.now();
      // Settled either way: a failed archival ends the loop, and its error is the answer.
      const archived = stub.archiveSegment(segment).finally(() => (done = true));
      const during: number[] = [];
      while (!done) during.push(await write());
      const segments = await archived;
      const archiveMs = Date.now() - start;
      const after: number[] = [];
      for (let i = 0; i < ARCHIVE_STALL_AFTER; i++) after.push(await write());
      return json({ segment, segments, archiveMs, alone, during, after });
    }
    case "/messages": {
      const stub = env.MESSAGE_SENDER.getByName(nameOf(url));
      return json(await stub.messagesBench(nameOf(url), int(url, "n"), Math.max(1, int(url, "receivers", 1)), int(url, "first", 0) === 1 ? "plain" : "messages"));
    }
    case "/orders": {
      const mode = url.searchParams.get("mode") ?? "";
      if (mode !== "orders" && mode !== "direct") throw new BadRequest("mode must be orders or direct");
      return json(await ordersBench(env, nameOf(url), mode, int(url, "n"), int(url, "c", 1)));
    }
    case "/pending": {
      // `empty` keeps (almost) nothing pending, `full` keeps n; both get the same probes, alternating.
      const name = nameOf(url);
      const n = int(url, "n");
      const k = int(url, "probe", 500);
      const rounds = Math.max(1, int(url, "rounds", 3));
      const chunk = 10_000;
      const [empty, full] = [await freshNoema(env, `${name}-empty`), await freshNoema(env, `${name}-full`)];
      const before = await full.storage();
      let fillMs = 0;
      for (let from = 0; from < n; from += chunk) fillMs += await full.fillPending("pending", from, Math.min(chunk, n - from));
      const after = await full.storage();
      const best = { empty: { freezeMs: Infinity, stepMs: Infinity }, full: { freezeMs: Infinity, stepMs: Infinity } };
      for (let r = 0; r < rounds; r++) {
        const order = [["empty", empty], ["full", full]] as const;
        for (const [which, stub] of r % 2 ? [...order].reverse() : order) {
          const p = await stub.probeFreeze(`probe-${r}`, k);
          best[which] = { freezeMs: Math.min(best[which].freezeMs, p.freezeMs), stepMs: Math.min(best[which].stepMs, p.stepMs) };
        }
      }
      return json({ n, probe: k, rounds, fillMs, before, after, best, emptyPending: (await empty.storage()).pending });
    }
    case "/verify": {
      // A log of n sediments; writes issued every `every` ms while it is verified, their latency
      // timed from here; then the blocking pass as it was (pure-JS hash), with one write issued into it.
      const name = nameOf(url);
      const n = int(url, "n");
      const every = int(url, "every", 50);
      const builder = await freshNoema(env, name);
      const one = await builder.reserve({ locationId: LOCATION, quantity: 1 });
      if (!one.success) throw new Error(one.reason.message);
      const chunk = 50_000;
      let bytesPerSediment = 0;
      for (let done = 2; done < n; done += chunk) bytesPerSediment = await builder.bulkLog(Math.min(chunk, n - done));
      await builder.restart().catch(() => undefined);
      // A stub whose object was reset stays broken: a new one reaches the new instance.
      const stub = noema(env, name);
      const writes = async (running: () => boolean) => {
        const latencies: number[] = [];
        // The first right behind the verification's call, the rest every `every` ms while it runs.
        for (let i = 0; running(); i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, every));
          if (!running()) break;
          const t = Date.now();
          const seal = await stub.reserve({ locationId: LOCATION, quantity: 1 });
          if (!seal.success) throw new Error(seal.reason.message);
          latencies.push(Date.now() - t);
        }
        return latencies;
      };
      const timed = async <T>(fn: () => Promise<T>, withWrites = true) => {
        let done = false;
        const t0 = Date.now();
        const pending = fn();
        const during = withWrites ? writes(() => !done) : Promise.resolve([]);
        const result = await pending;
        const ms = Date.now() - t0;
        done = true;
        return { result, ms, latencies: await during };
      };
      // Untimed first pass: the restart left SQLite's page cache cold, and every timed pass should find it warm.
      await stub.verifyBlocking(false);
      // One untimed write too: the first Intent after a restart derives its Sieve (the SQL parser's lazy start), whether or not a verification runs.
      const warm = await stub.reserve({ locationId: LOCATION, quantity: 1 });
      if (!warm.success) throw new Error(warm.reason.message);
      const sliced = await timed(async (): Promise<Verification> => (await stub.verify()) as Verification);
      if (!sliced.result.ok) throw new Error(`bench log does not verify: broken at ${sliced.result.brokenAt}`);
      const alone = await timed(async (): Promise<Verification> => (await stub.verify()) as Verification, false);
      const native = await timed(() => stub.verifyBlocking(false));
      const before = await timed(() => stub.verifyBlocking(true));
      return json({
        n: sliced.result.length,
        bytesPerSediment,
        sliced: { ms: sliced.ms, writeMs: sliced.latencies },
        slicedAlone: { ms: alone.ms, writeMs: [] },
        nativeBlocking: { ms: native.result.ms, writeMs: native.latencies },
        blocking: { ms: before.result.ms, writeMs: before.latencies },
      });
    }
    case "/bytes": {
      // Bytes on disk per entry, each on its own fresh object: log rows alone, and whole reservations.
      const name = nameOf(url);
      const n = int(url, "n");
      const logNoema = await freshNoema(env, `${name}-log`);
      const first = await logNoema.reserve({ locationId: LOCATION, quantity: 1 });
      if (!first.success) throw new Error(first.reason.message);
      const hands = [`${name}-hand-log`, `${name}-hand-chain`, `${name}-hand-plain`].map((n) => hand(env, n));
      for (const h of hands) await h.setStock(LOCATION, 1_000_000_000);
      const [handLog, handChain, handPlain] = hands as [DurableObjectStub<HandWrittenReservations>, DurableObjectStub<HandWrittenReservations>, DurableObjectStub<HandWrittenReservations>];
      const measure = async (h: DurableObjectStub<HandWrittenReservations>, mode: LogMode) => {
        const before = await h.size();
        await h.loop(n, mode);
        return ((await h.size()) - before) / n;
      };
      return json({
        n,
        sediment: await logNoema.bulkLog(n),
        handLogRow: await handLog.logRows(n),
        reservation: await (await freshNoema(env, `${name}-reserve`)).reservations(n),
        activeReservation: await (await freshNoema(env, `${name}-active`)).activeReservations(n),
        handChainReservation: await measure(handChain, "chain"),
        handPlainReservation: await measure(handPlain, "plain"),
      });
    }
  }
  return json({ error: { code: "not_found", message: `no route for POST ${path}` } }, 404);
}

/** Every request: a bad parameter answers 400, anything else that fails 500, each as JSON. */
export async function handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  try {
    return await route(request, env, ctx);
  } catch (e) {
    if (e instanceof BadRequest) return json({ error: { code: "invalid_input", message: e.message } }, 400);
    return json({ error: { code: "internal", message: e instanceof Error ? e.message : String(e) } }, 500);
  }
}
