import { admit } from "../admission/index.js";
import { type BuiltIntent, buildIntent, IntentValidationError, type StepBuilder } from "../builder/index.js";
import { canonicalJson } from "../canonical/index.js";
import { Lineage } from "../connection/lineage.js";
import { CryostasisStore, type FrozenEntry } from "../cryostasis/index.js";
import type { SedimentHost, SqlExecutor } from "../host/index.js";
import { carriedSteps, type Intent, type OperationSpec, type Vocabulary } from "../intent/index.js";
import type { Reason, ReasonKind } from "../refusal/index.js";
import { applyLineage, Sedimenter, type WakeOutcome } from "../seal/index.js";
import { SedimentLog } from "../seal/store.js";
import type { Seal, Sediment, World } from "../seal/types.js";
import { argumentCombinations, CheckSetupError, seenIntegers } from "./domains.js";
import { capture, changes, isTimeColumn, PRECEDENT, restore, rowsOf, type Snapshot, stateHash, tableList, tablesRead } from "./state.js";
import type {
  ActionArgs,
  ActionSpec,
  CheckDatabase,
  CheckKind,
  CheckOptions,
  CheckReport,
  CheckResult,
  CheckDefinition,
  Counterexample,
  CounterexampleStep,
  SafetyProperty,
  VersionStats,
} from "./types.js";

/** The depth `check` explores when none is given: sequences of up to 4 actions. */
export const DEFAULT_DEPTH = 4;
/** The deepest `check` explores: 20 actions. */
export const MAX_DEPTH = 20;
export const DEFAULT_MAX_STATES = 100_000;
/** 2026-01-01T00:00:00Z: a fixed clock, so runs and their counterexamples repeat exactly. */
export const DEFAULT_START = Date.UTC(2026, 0, 1);
/** Rounds of "advance to the next wake time" while settling; more means frozen Intents keep freezing others. */
const MAX_SETTLE_ROUNDS = 64;
/** Random walks are this many times the breadth-first depth long, unless told. */
const WALK_FACTOR = 3;
/** Frozen Intents woken per clock step: all that are due, as repeated alarm runs would. */
const WAKE_ALL = 100_000;
/** States from which each distinct Intent is run again after the upgrade: the first ones it sealed in. */
const REFORGE_RUNS_PER_INTENT = 4;

/** The built-in checks, by the name `only` and `--property` use. */
export const BUILTIN_CHECKS = ["replay", "migration", "reforge", "cryostasis", "guards"] as const;

/** One move from a state: an Intent sent, or the clock advanced (to the next wake time, or by `wait` ms). */
interface Step {
  action: string;
  /** The action of the definition and the arguments it was built with. */
  name?: string;
  args?: ActionArgs;
  intent?: Intent;
  tick?: true;
  wait?: number;
}

/** What is checked after the path of a counterexample: the clock run out, the migration to the next law, then its wakes or the last Intent sent under it. */
type Epilogue = "settle" | "migrate" | "migrate-wake" | "migrate-send";

interface StateNode {
  hash: string;
  now: number;
  depth: number;
  parent?: StateNode;
  via?: Step;
  snapshot?: Snapshot;
}

/** Where the replay database stands: the clock its replay reached and the last sediment it applied. */
interface ReplayCursor {
  clock: number;
  sediments: number;
  /** The state whose log it replayed, its chain verified. */
  state?: Snapshot;
}

/** The sediment log's table: its rows are the log a path leaves. */
const SEDIMENT = "_noema_sediment";
/** What else verifying the chain reads: the Worlds its entries name, the law stamps, the link the log starts from, the shapes its rows fill. */
const CHAIN_READS = ["_noema_world", "_noema_nomos", "_noema_anchor", "_noema_shape"];

/** The frozen entry a sediment woke from, if the alarm applied it. */
const wokenEntry = (row: Sediment) => (row.origin && "cryostasis" in row.origin ? row.origin.cryostasis?.cryoId : undefined);

interface Failure {
  node: StateNode;
  step?: Step;
  epilogue?: Epilogue;
  failure: string;
}

/** The next law's tables as a machine holds them, each as its sorted rows. */
type NextTables = { t: string; rows: string[] }[];

const tablesOf = (next: Version, m: Machine): NextTables => {
  const snapshot = capture(m.host.db, tableList(m.host.db, false, next.tables));
  return next.tables.map((t) => ({ t, rows: rowsOf(snapshot, t).map((r) => canonicalJson(r)).sort() }));
};

/** Thrown to undo a tentative move; not an Error, since a stack trace per explored move is measurable. */
const ROLLBACK = Symbol("rollback");

/** The ways a refusal can come: the operation's own expectations, or a rule of the Nomos around it. */
const RULE_KINDS: ReadonlySet<ReasonKind> = new Set(["constraint", "invariant"]);

const reasonText = (r: Reason) => `refused (${r.kind}${r.rule ? ` ${r.rule}` : ""}): ${r.message}`;
const sealText = (seal: Seal) => (seal.success ? `sealed #${seal.sedimentId}` : reasonText(seal.reason));
const wakeText = (o: WakeOutcome) =>
  o.outcome === "sealed" || o.outcome === "refused" ? `frozen ${o.cryoId} ${sealText(o.seal)}` : o.outcome === "retry" ? `frozen ${o.cryoId} failed: ${o.error}` : `frozen ${o.cryoId} gone`;

/** A database with the checker's clock: the host the real Sedimenter runs on. */
class Machine {
  now: number;
  readonly host: SedimentHost;
  constructor(
    readonly database: CheckDatabase,
    start: number,
  ) {
    this.now = start;
    this.host = { db: database.db, transaction: (fn) => database.transaction(fn), now: () => this.now };
  }

  /** Runs `fn` and rolls back whatever it wrote; its result (or error) is returned as if nothing happened. */
  tentatively<T>(fn: () => T): T {
    const clock = this.now;
    let result: { value: T } | undefined;
    try {
      this.database.transaction(() => {
        result = { value: fn() };
        throw ROLLBACK;
      });
    } catch (error) {
      if (error !== ROLLBACK) throw error;
    } finally {
      this.now = clock;
    }
    return result!.value;
  }
}

/** One version of the law under exploration: its Sedimenter factory and the moves it offers. */
class Version {
  readonly vocabulary: Vocabulary;
  readonly version: number;
  readonly world: World;
  readonly tables: string[];
  /** Intents built per action and arguments (null: the builder refuses them); the same ones recur in every state. */
  readonly built = new Map<string, BuiltIntent | null>();
  constructor(
    readonly law: Lineage,
    readonly start: number,
  ) {
    this.vocabulary = law.latest;
    this.version = this.vocabulary.nomos.version;
    this.world = { attractor: "check", name: law.name, nomosVersion: this.version, nomosHash: this.vocabulary.nomos.hash };
    this.tables = Object.keys(this.vocabulary.nomos.tables);
  }

  /** A fresh machine at the empty state of this law. */
  open(database: CheckDatabase): Machine {
    const machine = new Machine(database, this.start);
    const state = applyLineage(machine.host, this.law, this.start);
    if (state.error) throw new CheckSetupError(`v${this.version}: cannot create the tables: ${state.error.message}`);
    return machine;
  }

  // A new one per move: the Sedimenter keeps the chain head in memory, and moves are rolled back under it.
  sedimenter(machine: Machine): Sedimenter {
    return new Sedimenter(this.law, machine.host, this.world, { held: this.version, appliedAt: () => this.start, frozenByReference: false, shapes: false });
  }

  /** Performs a move on the machine; returns what happened, in words. */
  perform(machine: Machine, step: Step): { text: string; seal?: Seal } {
    const s = this.sedimenter(machine);
    if (step.intent) {
      const seal = s.sedimentation(step.intent);
      return { text: sealText(seal), seal };
    }
    if (step.wait !== undefined) machine.now += step.wait;
    else {
      const next = s.cryostasis.earliest();
      if (next !== undefined) machine.now = Math.max(machine.now, next);
    }
    const woke = s.features.cryostasis.wakeDue(WAKE_ALL);
    return { text: woke.length ? woke.map(wakeText).join("; ") : "nothing due" };
  }

  /** Advances the clock to each next wake time until nothing is frozen; returns every outcome, or undefined when it never ends. */
  settle(machine: Machine, s: Sedimenter = this.sedimenter(machine)): WakeOutcome[] | undefined {
    const outcomes: WakeOutcome[] = [];
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      const next = s.cryostasis.earliest();
      if (next === undefined) return outcomes;
      machine.now = Math.max(machine.now, next);
      outcomes.push(...s.features.cryostasis.wakeDue(WAKE_ALL));
    }
    return undefined;
  }
}

/** An Intent's steps by name, those it carries in brackets: `reserve + $freeze[release]`. */
const stepNames = (intent: Intent): string =>
  intent.steps.map((s) => (carriedSteps(s).length ? `${s.op}[${carriedSteps(s).map((c) => c.op).join(" + ")}]` : s.op)).join(" + ");

const applies = (p: { versions?: readonly number[] }, version: number) => !p.versions || p.versions.includes(version);

/** The parameter a property reads the checker's clock by. */
const NOW = /:now\b/g;

/** Runs a property's query, its `:now` bound to the checker's clock. */
export function runProperty(db: SqlExecutor, sql: string, now: number) {
  const params = (sql.match(NOW) ?? []).map(() => now);
  return db.exec(params.length ? sql.replace(NOW, "?") : sql, params);
}

/**
 * The frozen Intents of a database, read without a Sedimenter: making one registers its World (a
 * write, which no move would roll back here) and hashes it, for nothing when only reading.
 */
const frozenIn = (db: SqlExecutor) => new CryostasisStore(db, (id) => new SedimentLog(db).source(id), false);

/** The concrete moves from the machine's current state. */
function moves(spec: CheckDefinition, v: Version, machine: Machine, actions: [string, ActionSpec][]): Step[] {
  const { db } = machine.host;
  const { ids } = spec;
  const seen = spec.seenValues ? seenIntegers(db, v.tables) : [];
  const out: Step[] = [];
  for (const [name, action] of actions) {
    const op = v.vocabulary.operations[action.op]!;
    for (const args of argumentCombinations(name, op.args, action.args ?? spec.domains ?? {}, db, ids, seen)) {
      const label = `${name} ${canonicalJson(args)}`;
      let intent = v.built.get(label);
      if (intent === undefined) {
        try {
          intent = buildIntent(v.vocabulary, (s: StepBuilder<Record<string, OperationSpec>>) => {
            if (action.build) action.build(s, args);
            else s[action.op]!(args);
          });
        } catch (error) {
          // A combination the builder refuses is not an Intent a client can send.
          if (!(error instanceof IntentValidationError)) throw error;
          intent = null;
        }
        v.built.set(label, intent);
      }
      if (intent) out.push({ action: label, name, args, intent });
    }
  }
  if (frozenIn(db).earliest() !== undefined) out.push({ action: "tick", tick: true });
  for (const wait of spec.waits ?? []) out.push({ action: `wait ${wait} ms`, wait });
  return out;
}

function actionsFor(spec: CheckDefinition, v: Version): [string, ActionSpec][] {
  const declared = spec.actions ? Object.entries(spec.actions) : Object.keys(v.vocabulary.operations).map((op): [string, ActionSpec] => [op, { op }]);
  return declared.filter(([, a]) => applies(a, v.version) && a.op in v.vocabulary.operations) as [string, ActionSpec][];
}

function pathOf(node: StateNode): StateNode[] {
  const path: StateNode[] = [];
  for (let n: StateNode | undefined = node; n; n = n.parent) path.unshift(n);
  return path;
}

/**
 * Checks a law by running it: breadth-first over every sequence of actions up to `depth`,
 * on the real Sedimenter over databases from `openDatabase`, with the clock as an action.
 * Every version of a lineage is explored; from each reachable state of a version the
 * migration to the next one is run, and its frozen Intents woken under it.
 */
export function check<Ops extends Record<string, OperationSpec>>(spec: CheckDefinition<Ops>, options: CheckOptions): CheckReport {
  const began = Date.now();
  const depth = options.depth ?? DEFAULT_DEPTH;
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) throw new CheckSetupError(`depth must be a whole number from 1 to ${MAX_DEPTH}, got ${depth}`);
  // Duck-typed: a law module bundled on its own may hold another copy of the Lineage class.
  const lineage = "versions" in spec.law ? spec.law : Lineage.of(spec.law);
  const known = new Set<string>([...BUILTIN_CHECKS, ...(spec.properties ?? []).map((p) => p.name), ...(spec.liveness ?? []).map((p) => p.name)]);
  for (const name of options.only ?? []) if (!known.has(name)) throw new CheckSetupError(`unknown property "${name}" (known: ${[...known].join(", ")})`);
  const wanted = (name: string) => !options.only || options.only.includes(name);
  const generic = spec as CheckDefinition;
  const results: CheckResult[] = [];
  const versions: VersionStats[] = [];
  for (const vocabulary of lineage.versions) {
    const n = vocabulary.nomos.version;
    const next = n < lineage.latest.nomos.version ? lineage.upTo(n + 1) : undefined;
    const explored = explore(generic, new Version(lineage.upTo(n), options.start ?? DEFAULT_START), next, depth, options, wanted);
    versions.push(explored.stats);
    results.push(...explored.results);
  }
  return { ok: results.every((r) => r.status !== "failed"), depth, versions, results, ms: Date.now() - began };
}

function explore(
  spec: CheckDefinition,
  v: Version,
  nextLaw: Lineage | undefined,
  depth: number,
  options: CheckOptions,
  wanted: (name: string) => boolean,
): { stats: VersionStats; results: CheckResult[] } {
  const began = Date.now();
  const timeColumn = spec.timeColumn ?? isTimeColumn;
  const properties = (spec.properties ?? []).filter((p) => applies(p, v.version) && wanted(p.name));
  const liveness = (spec.liveness ?? []).filter((p) => applies(p, v.version) && wanted(p.name));
  const nextVersion = nextLaw ? new Version(nextLaw, v.start) : undefined;
  const nextProperties = nextVersion ? (spec.properties ?? []).filter((p) => applies(p, nextVersion.version)) : [];
  const nextLiveness = nextVersion ? (spec.liveness ?? []).filter((p) => applies(p, nextVersion.version)) : [];
  /** The first frozen Intent refused as Critical across the upgrade, and what it would have changed under this law. */
  let critical: { failure: Failure; entry: FrozenEntry; left?: string } | undefined;
  const actions = actionsFor(spec, v);
  const databases: CheckDatabase[] = [];
  const open = () => {
    const database = options.openDatabase();
    databases.push(database);
    return v.open(database);
  };
  const machine = open();
  const replayMachine = wanted("replay") ? open() : undefined;
  const failures = new Map<string, Failure>();
  const fail = (name: string, f: Failure) => void (failures.has(name) || failures.set(name, f));
  /** Per action: the kinds of refusal seen, each with the first state and move that showed it. */
  const refusals = new Map<string, Map<string, Failure>>();
  const sent = new Map<string, { node: StateNode; step: Step }>();
  let transitions = 0;

  const violation = (db: Machine, p: SafetyProperty): string | undefined => {
    let rows;
    try {
      rows = runProperty(db.host.db, p.sql, db.now);
    } catch (error) {
      throw new CheckSetupError(`property ${p.name} cannot run under v${v.version}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return rows.length ? `${p.name} is violated by ${canonicalJson(rows[0]!)}` : undefined;
  };

  /**
   * Replays the sediments after `at` onto the replay database, from where `at` stands, as the alarm
   * and clients applied them; `at` advances. A woken sediment was applied by the alarm, which took
   * its entry out of Cryostasis: the replay takes it out too, or a later `$cancel` of its key would
   * find it. Entries due when the clock moved that woke into no sediment were refused then (their
   * Precedents are not in the log).
   */
  const replayOnto = (rows: readonly Sediment[], at: ReplayCursor): string | undefined => {
    const s = v.sedimenter(replayMachine!);
    for (const row of rows) {
      if (row.timestamp > at.clock) {
        const woken = new Set(rows.filter((r) => r.timestamp === row.timestamp).map(wokenEntry));
        for (const entry of s.cryostasis.due(row.timestamp, WAKE_ALL)) if (!woken.has(entry.cryoId)) s.cryostasis.remove(entry.cryoId);
        at.clock = row.timestamp;
      }
      const cryoId = wokenEntry(row);
      if (cryoId !== undefined) s.cryostasis.remove(cryoId);
      replayMachine!.now = row.timestamp;
      const seal = s.sedimentation(row.intent);
      if (!seal.success) return `sediment ${row.sedimentId} is ${reasonText(seal.reason)} when its log is replayed`;
      if (canonicalJson(seal.outputs) !== canonicalJson(row.outputs)) return `sediment ${row.sedimentId} gives ${canonicalJson(seal.outputs)} on replay, ${canonicalJson(row.outputs)} in the log`;
      at.sediments = row.sedimentId;
    }
    return undefined;
  };

  /**
   * Does the machine's state equal its log replayed from empty, and does its chain verify? The
   * replay database stands at `from`, the log of the state expanded replayed (the log only grows
   * along a path): only the sediments after it are replayed, on top of it, and rolled back after.
   */
  /**
   * Verifies the machine's chain. Its log only grows along a path: where the log of `verified` (a
   * state whose chain verified) is still there unchanged, and all the chain reads besides, only the
   * entries after it are verified, linked to its last one.
   */
  const verifies = (snapshot: Snapshot, verified: Snapshot | undefined) => {
    const log = new SedimentLog(machine.host.db);
    const rowsIn = (s: Snapshot, table: string) => s.tables.find((t) => t.name === table)?.rows ?? [];
    const before = verified ? rowsIn(verified, SEDIMENT) : [];
    const last = before[before.length - 1];
    const unchanged =
      last !== undefined &&
      JSON.stringify(rowsIn(snapshot, SEDIMENT).slice(0, before.length)) === JSON.stringify(before) &&
      CHAIN_READS.every((t) => JSON.stringify(rowsIn(snapshot, t)) === JSON.stringify(rowsIn(verified!, t)));
    if (!unchanged) return log.verify();
    const slice = log.verifySlice({ sedimentId: Number(last.sediment_id), hash: String(last.hash) }, log.head().sedimentId, Number.MAX_SAFE_INTEGER);
    return slice.ok ? { ok: true as const, length: slice.through.sedimentId } : slice;
  };

  const replays = (snapshot: Snapshot, from: ReplayCursor): string | undefined => {
    const verification = verifies(snapshot, from.state);
    const length = rowsOf(snapshot, SEDIMENT).length;
    if (!verification.ok) return `the chain does not verify: broken at sediment ${verification.brokenAt}`;
    if (verification.length !== length) return `the chain verifies ${verification.length} of ${length} sediments`;
    // Read through the log, which restores each Intent's stamp and key from their columns.
    const fresh = new SedimentLog(machine.host.db).page(from.sediments, length - from.sediments).sediments;
    return replayMachine!.tentatively(() => {
      let at = { ...from };
      // A sediment woken at the clock `from` stands at would have kept its entry from the clearing
      // there, had the replay seen it then: replayed from empty instead, as the whole log.
      if (at.clock !== v.start && fresh.some((r) => r.timestamp === at.clock && wokenEntry(r) !== undefined)) {
        restore(replayMachine!.host.db, replayEmpty!);
        at = { clock: v.start, sediments: 0 };
        const why = replayOnto(new SedimentLog(machine.host.db).page(0, length).sediments, at);
        if (why) return why;
      } else {
        const why = replayOnto(fresh, at);
        if (why) return why;
      }
      const rebuilt = capture(replayMachine!.host.db, nomosSchema);
      for (const table of v.tables) {
        const a = rowsOf(snapshot, table).map((r) => canonicalJson(r)).sort();
        const b = rowsOf(rebuilt, table).map((r) => canonicalJson(r)).sort();
        if (a.join("\n") !== b.join("\n")) return `table ${table} rebuilt from the log is ${b.join(", ") || "empty"}, but the state has ${a.join(", ") || "nothing"}`;
      }
      return undefined;
    });
  };

  /** The migration to the next law from the live state, and the frozen Intents woken under it; all rolled back. */
  const migrates = (node: StateNode) => {
    acrossUpgrade(node);
    if (critical && critical.failure.node === node && critical.left === undefined) critical.left = leftBehind(critical.entry);
  };

  /** What a frozen Intent would change were it woken under this law: what a Critical refusal leaves undone. */
  const leftBehind = (entry: FrozenEntry): string =>
    machine.tentatively(() => {
      const before = capture(machine.host.db, schema);
      machine.now = Math.max(machine.now, entry.wakeAt);
      const outcome = v.sedimenter(machine).features.cryostasis.wakeDue(WAKE_ALL).find((o) => o.cryoId === entry.cryoId);
      const undone = changes(before, capture(machine.host.db, schema), v.tables)
        .filter((c) => v.tables.includes(c.table))
        .map((c) => `${c.change} ${c.table} ${canonicalJson(c.row)}`);
      return `under v${v.version} it would have ${outcome ? wakeText(outcome).replace(/^frozen \d+ /, "") : "not woken"}${undone.length ? `: ${undone.join(", ")}` : ""}`;
    });

  const acrossUpgrade = (node: StateNode) =>
    machine.tentatively(() => {
      const next = nextVersion!;
      const frozen = frozenIn(machine.host.db).list(WAKE_ALL);
      const state = applyLineage(machine.host, next.law, machine.now);
      if (state.error) return fail("migration", { node, epilogue: "migrate", failure: `the migration to v${next.version} fails: ${state.error.message}` });
      const failed = (failure: string) => fail("migration", { node, epilogue: "migrate", failure });
      const integrity = machine.host.db.exec("PRAGMA integrity_check", []).map((r) => String(Object.values(r)[0]));
      if (integrity.join() !== "ok") return failed(`after the migration to v${next.version}: ${integrity.join("; ")}`);
      for (const [name, invariant] of Object.entries(next.vocabulary.nomos.invariants)) {
        const rows = machine.host.db.exec(invariant.violations, []);
        if (rows.length) return failed(`after the migration to v${next.version}, invariant ${name} is violated by ${canonicalJson(rows[0]!)}`);
      }
      for (const p of nextProperties) {
        const why = violation(machine, p);
        if (why) return failed(`after the migration to v${next.version}, ${why}`);
      }
      if (wanted("cryostasis") && (frozen.length || nextLiveness.length)) wakesAcross(node, next, frozen);
      return undefined;
    });

  /** Frozen Intents of this law woken under the next: each resumes, is reforged or is refused as its Connection says, and none is lost. */
  const wakesAcross = (node: StateNode, next: Version, frozen: FrozenEntry[]) => {
    const failed = (failure: string) => fail("cryostasis", { node, epilogue: "migrate-wake", failure });
    // Nothing frozen: nothing wakes, and the next law's liveness is read from the migrated state as it is.
    const s = frozen.length ? new Sedimenter(next.law, machine.host, next.world, { held: next.version, appliedAt: () => machine.now, frozenByReference: false, shapes: false }) : undefined;
    const outcomes = s ? next.settle(machine, s) : [];
    if (!outcomes) return failed(`frozen Intents keep waking others after ${MAX_SETTLE_ROUNDS} rounds under v${next.version}`);
    const refusedCritical: string[] = [];
    for (const entry of frozen) {
      const outcome = outcomes.find((o) => o.cryoId === entry.cryoId);
      const conn = next.law.stepConnection(v.version, entry.intent, s!.cryostasis.sieve(entry.sieveHash)).type;
      const what = `frozen ${entry.cryoId} (${stepNames(entry.intent)}, ${conn})`;
      if (!outcome) return failed(`${what} was lost: it never woke under v${next.version}`);
      if (outcome.outcome === "retry" || outcome.outcome === "gone") return failed(`${what} ${wakeText(outcome)} under v${next.version}`);
      const { seal } = outcome;
      if (!seal.success) {
        const byLaw = seal.reason.kind === "connection" || seal.reason.kind === "nomos" || seal.reason.kind === "validation";
        if (byLaw && conn !== "Critical") return failed(`${what} was ${reasonText(seal.reason)} under v${next.version}, but its Connection is ${conn}`);
        if (!byLaw && conn === "Critical") return failed(`${what} ran its operations under v${next.version} although its Connection is Critical`);
        if (conn === "Critical") {
          refusedCritical.push(`${what} was refused`);
          critical ??= { failure: { node, epilogue: "migrate-wake", failure: `${what} is ${reasonText(seal.reason).replace(/^refused/, `refused under v${next.version}`)}` }, entry };
        }
        continue;
      }
      if (conn === "Critical") return failed(`${what} was sealed under v${next.version} although its Connection is Critical`);
      const mode = seal.origin?.cryostasis?.mode;
      const expected = conn === "Curved" ? "reforged" : "resumed";
      if (mode !== expected) return failed(`${what} woke ${mode ?? "without an origin"} under v${next.version}; its Connection says ${expected}`);
    }
    // Liveness across the upgrade: what this law's frozen Intents were to resolve must still resolve under the next.
    for (const p of nextLiveness) {
      const why = violation(machine, p);
      if (why) return failed(`after the upgrade to v${next.version} and the clock past every wake time, ${why}${refusedCritical.length ? ` (${refusedCritical.join("; ")})` : ""}`);
    }
    return undefined;
  };

  /** States each distinct Intent is run from across the upgrade (the first ones it sealed in). */
  const reforgeCounts = new Map<string, number>();
  /** The Intents that sealed from a node, each run again after the upgrade while it has runs left. */
  const reforgeRuns = (node: StateNode, sealed: readonly Step[]) => {
    if (failures.has("reforge")) return;
    const runs = sealed.filter((step) => {
      const key = canonicalJson(step.intent!);
      const count = reforgeCounts.get(key) ?? 0;
      if (count >= REFORGE_RUNS_PER_INTENT) return false;
      reforgeCounts.set(key, count + 1);
      return true;
    });
    if (!runs.length) return;
    const next = nextVersion!;
    // What each leaves when run under this law and then migrated; a migration that fails is the migration check's to report.
    const expected = runs.map((step) =>
      machine.tentatively(() => {
        v.perform(machine, step);
        return applyLineage(machine.host, next.law, machine.now).error ? undefined : tablesOf(next, machine);
      }),
    );
    // The node migrated once; each Intent is sent from there, and rolled back.
    machine.tentatively(() => {
      if (applyLineage(machine.host, next.law, machine.now).error) return;
      for (const [i, step] of runs.entries()) {
        const migratedAfter = expected[i];
        if (migratedAfter && !failures.has("reforge")) machine.tentatively(() => reforgeRun(node, step, migratedAfter));
      }
    });
  };
  /**
   * An Intent that sealed under this law, sent again after the upgrade by a client still on it:
   * from the migrated state it is reforged and run under the next law, as the runtime would. It
   * must not be refused (unless Critical), must keep the next law's properties, and must leave
   * the tables as running it here then migrating does (`migratedAfter`).
   */
  const reforgeRun = (node: StateNode, step: Step, migratedAfter: NextTables) => {
    const next = nextVersion!;
    const failed = (failure: string) => fail("reforge", { node, step, epilogue: "migrate-send", failure });
    const label = `${step.action} (${stepNames(step.intent!)}, ${next.law.stepConnection(v.version, step.intent!).type})`;
    const seal = new Sedimenter(next.law, machine.host, next.world, { held: next.version, appliedAt: () => machine.now, frozenByReference: false, shapes: false }).sedimentation(step.intent);
    if (!seal.success) {
      if (seal.reason.kind === "connection" && label.endsWith(", Critical)")) return;
      return failed(`${label} sealed under v${v.version}, but sent after the upgrade it is ${reasonText(seal.reason).replace(/^refused/, `refused under v${next.version}`)}`);
    }
    for (const p of nextProperties) {
      const why = violation(machine, p);
      if (why) return failed(`${label} sent after the upgrade to v${next.version}: ${why}`);
    }
    const reforged = tablesOf(next, machine);
    for (const [i, { t, rows }] of reforged.entries()) {
      const expected = migratedAfter[i]!.rows;
      if (rows.join("\n") === expected.join("\n")) continue;
      const only = (a: string[], b: string[]) => a.filter((r) => !b.includes(r));
      return failed(
        `${label} sent after the upgrade to v${next.version} leaves ${t} ${only(rows, expected).join(", ") || "without a row"}, where running it under v${v.version} and then migrating leaves ${only(expected, rows).join(", ") || "no such row"}`,
      );
    }
    return undefined;
  };

  /** Every check of a newly reached state; the machine is in that state. */
  const inspect = (node: StateNode) => {
    for (const p of properties) {
      if (failures.has(`safety:${p.name}`)) continue;
      const why = violation(machine, p);
      if (why) fail(`safety:${p.name}`, { node, failure: why });
    }
    if (liveness.some((p) => !failures.has(`liveness:${p.name}`))) {
      machine.tentatively(() => {
        const settled = v.settle(machine);
        for (const p of liveness) {
          const why = settled ? violation(machine, p) : `frozen Intents keep waking others after ${MAX_SETTLE_ROUNDS} rounds`;
          if (why) fail(`liveness:${p.name}`, { node, epilogue: "settle", failure: `after the clock passes every wake time, ${why}` });
        }
      });
    }
    if (nextVersion && (wanted("migration") || wanted("cryostasis")) && !(failures.has("migration") && failures.has("cryostasis"))) {
      migrates(node);
    }
  };

  // A state holds everything a property reads: the log or the Precedents too, when one reads them.
  // Domain queries too: what a state offers as moves must follow from the state.
  const domainQueries = [spec.domains ?? {}, ...actions.map(([, a]) => a.args ?? {})].flatMap((d) => Object.values(d).flatMap((x) => ("sql" in x ? [x.sql] : [])));
  const queries = [...properties, ...liveness, ...nextProperties, ...nextLiveness].map((p) => p.sql).concat(domainQueries);
  const extra = tablesRead(queries, tableList(machine.host.db, true), v.tables);
  const precedents = extra.some((t) => t.table === PRECEDENT);
  const schema = tableList(machine.host.db, precedents);
  const nomosSchema = schema.filter((t) => v.tables.includes(t.name));
  const replayEmpty = replayMachine && capture(replayMachine.host.db, tableList(replayMachine.host.db, true));
  let unique = 0;
  const hashOf = (snapshot: Snapshot, now: number) => (options.prune === false ? String(unique++) : stateHash(snapshot, v.tables, now, timeColumn, extra));
  const root: StateNode = { hash: "", now: v.start, depth: 0 };
  const empty = capture(machine.host.db, schema);
  root.snapshot = empty;
  root.hash = hashOf(root.snapshot, root.now);
  const seen = new Set<string>([root.hash]);
  inspect(root);
  const fromEmpty = (): ReplayCursor => ({ clock: v.start, sediments: 0 });
  if (replayMachine) {
    const why = replays(root.snapshot, fromEmpty());
    if (why) fail("replay", { node: root, failure: why });
  }
  let frontier = [root];
  /** What the machine holds between moves, each rolled back: the node last put back. */
  let holds: Snapshot | undefined;
  let reached = 0;
  let complete = true;
  for (let level = 1; level <= depth && frontier.length && complete; level++) {
    const found: StateNode[] = [];
    for (const node of frontier) {
      const snapshot = node.snapshot!;
      machine.database.transaction(() => restore(machine.host.db, snapshot, holds));
      holds = snapshot;
      machine.now = node.now;
      node.snapshot = undefined;
      const sealed: Step[] = [];
      /** Every move from the node; `replayed`: the replay database holds the node's log replayed, from which each path on is replayed. */
      const expand = (replayed: ReplayCursor | undefined) => {
        for (const step of moves(spec, v, machine, actions)) {
          transitions++;
          if (step.intent && !sent.has(canonicalJson(step.intent))) {
            sent.set(canonicalJson(step.intent), { node, step });
            // Is it admitted under the next law as its Connection says? Checked once, where it is first sent.
            const why = nextVersion && wanted("reforge") && !failures.has("reforge") ? reforgeFailure(v, nextVersion, step.intent) : undefined;
            if (why) fail("reforge", { node, step, failure: why });
          }
          machine.tentatively(() => {
            let result;
            try {
              result = v.perform(machine, step);
            } catch (error) {
              fail("crash", { node, step, failure: `${step.action} throws: ${error instanceof Error ? error.message : String(error)}` });
              return;
            }
            const seal = result.seal;
            if (seal?.success && step.intent) sealed.push(step);
            if (seal && !seal.success && step.intent) {
              // The action's own name: a label is the name, then the arguments, and a name may hold spaces.
              const kind = step.name ?? step.action;
              const byKind = refusals.get(kind) ?? new Map<string, Failure>();
              refusals.set(kind, byKind);
              const key = RULE_KINDS.has(seal.reason.kind) ? `${seal.reason.kind} ${seal.reason.rule ?? ""}`.trim() : seal.reason.kind;
              if (!byKind.has(key)) byKind.set(key, { node, step, failure: `${step.action} was ${reasonText(seal.reason)}` });
            }
            // A refused Intent leaves only its Precedent behind: unless a property reads them, the state is the one it came from.
            if (seal && !seal.success && !precedents && options.prune !== false) return;
            const snapshot = capture(machine.host.db, schema);
            const hash = hashOf(snapshot, machine.now);
            const child: StateNode = { hash, now: machine.now, depth: level, parent: node, via: step };
            // Replay reads the whole log, which no state holds: every path is replayed, to a state seen before too.
            if (replayed && !failures.has("replay")) {
              const why = replays(snapshot, replayed);
              if (why) fail("replay", { node: child, failure: why });
            }
            if (seen.has(hash)) return;
            seen.add(hash);
            child.snapshot = snapshot;
            found.push(child);
            reached = level;
            inspect(child);
          });
          if (options.maxStates !== undefined && seen.size >= options.maxStates) complete = false;
          if (!complete) break;
        }
      };
      if (replayMachine && !failures.has("replay")) {
        // The node's log was replayed and compared where the node was reached: here it is only put back.
        replayMachine.tentatively(() => {
          const at: ReplayCursor = { ...fromEmpty(), state: snapshot };
          const why = replayOnto(new SedimentLog(machine.host.db).page(0, rowsOf(snapshot, SEDIMENT).length).sediments, at);
          if (why) fail("replay", { node, failure: why });
          expand(why ? undefined : at);
        });
      } else expand(undefined);
      if (nextVersion && wanted("reforge")) reforgeRuns(node, sealed);
      if (!complete) break;
    }
    frontier = found;
    options.onProgress?.({ version: v.version, depth: level, states: seen.size, transitions, ms: Date.now() - began });
  }
  const walked = walks(spec, v, machine, actions, empty, properties, violation, options, depth);
  if (walked) fail(walked.name, walked.failure);


  const results: CheckResult[] = [];
  const stats: VersionStats = { version: v.version, states: seen.size, transitions, depth: reached, complete, ms: Date.now() - began };
  const walkCount = options.walks ?? 0;
  const scope = `${stats.states} states, depth ${reached}${walkCount ? ` and ${walkCount} random walks of ${options.walkLength ?? WALK_FACTOR * depth}` : ""}`;
  const line = (name: string, kind: CheckKind, okDetail: string, version = v.version) => {
    const f = failures.get(name);
    results.push(
      f
        ? { name, kind, version, status: "failed", detail: f.failure, counterexample: counterexample(v, nextVersion, f, options) }
        : { name, kind, version, status: "ok", detail: okDetail },
    );
  };
  for (const p of properties) line(`safety:${p.name}`, "safety", `holds in ${scope}`);
  for (const p of liveness) line(`liveness:${p.name}`, "liveness", `holds once the clock passes every wake time, from each of ${scope}`);
  if (wanted("guards")) {
    for (const [name, action] of actions) {
      const byKind = refusals.get(name) ?? new Map<string, Failure>();
      const rules = [...byKind.keys()].filter((k) => RULE_KINDS.has(k.split(" ")[0] as ReasonKind));
      const own = [...byKind.keys()].filter((k) => !rules.includes(k));
      const detail = rules.length
        ? `refused by ${[...own, ...rules].join(", ")}: also by a rule of the Nomos, not only by its own checks`
        : own.length
          ? `refused only by its own checks (${own.join(", ")})`
          : "never refused";
      if (rules.length && action.guarded) failures.set(`guards:${name}`, byKind.get(rules[0]!)!);
      if (action.guarded) line(`guards:${name}`, "guards", detail);
      else results.push({ name: `guards:${name}`, kind: "guards", version: v.version, status: "info", detail });
    }
  }
  if (replayMachine) line("replay", "replay", `every state of ${scope} equals its log replayed from empty, and its chain verifies`);
  if (nextVersion) {
    if (wanted("migration")) line("migration", "migration", `v${v.version} → v${nextVersion.version} succeeds from ${scope} and keeps its rules and properties`);
    if (wanted("reforge")) line("reforge", "reforge", `${sent.size} Intents of v${v.version} reach v${nextVersion.version} as their Connection says`);
    if (wanted("cryostasis")) {
      const live = nextLiveness.length ? `, and the liveness properties of v${nextVersion.version} hold after` : "";
      line("cryostasis", "cryostasis", `frozen Intents of ${scope} wake under v${nextVersion.version} as their Connection says, none lost${live}`);
      // A Critical refusal is what the law asked for, but never silent: say what it leaves undone.
      if (critical) {
        const { failure, left } = critical;
        results.push({
          name: "cryostasis:critical",
          kind: "cryostasis",
          version: v.version,
          status: "info",
          detail: `${failure.failure}; ${left ?? ""}`,
          counterexample: counterexample(v, nextVersion, failure, options),
        });
      }
    }
  }
  if (failures.has("crash")) line("crash", "crash", "");
  for (const d of databases) d.close?.();
  return { stats, results };
}

/** Why an Intent of `v` does not reach `next` as its Connection says, or undefined. */
function reforgeFailure(v: Version, next: Version, intent: Intent): string | undefined {
  const conn = next.law.stepConnection(v.version, intent).type;
  const admitted = admit(next.law, intent, { now: v.start, held: next.version, appliedAt: () => v.start });
  const label = `${stepNames(intent)} (${conn})`;
  if (!admitted.ok) {
    if (conn === "Critical" && admitted.reason.kind === "connection") return undefined;
    return `${label} is ${reasonText(admitted.reason)} under v${next.version}`;
  }
  if (conn === "Critical") return `${label} is admitted under v${next.version} although its Connection is Critical`;
  if (conn === "Flat" && canonicalJson(admitted.intent.steps) !== canonicalJson(intent.steps)) {
    return `${label} is Flat but changed on its way to v${next.version}: ${canonicalJson(admitted.intent.steps)}`;
  }
  return undefined;
}

/** A small seeded generator (mulberry32): the same seed walks the same paths. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random walks past the breadth-first depth: unexhaustive, for deeper bugs. A failure is shrunk by dropping steps. */
function walks(
  spec: CheckDefinition,
  v: Version,
  machine: Machine,
  actions: [string, ActionSpec][],
  empty: Snapshot,
  properties: SafetyProperty[],
  violation: (m: Machine, p: SafetyProperty) => string | undefined,
  options: CheckOptions,
  depth: number,
): { name: string; failure: Failure } | undefined {
  const runs = options.walks ?? 0;
  if (runs <= 0) return undefined;
  const length = options.walkLength ?? WALK_FACTOR * depth;
  const random = seeded(options.seed ?? 1);
  // `rank`: the move's place among the moves of its kind then, to find it again when ids have shifted.
  type Taken = { step: Step; now: number; rank: number };
  type Walk = { taken: Taken[]; failed?: { name: string; why: string; step?: Taken } };
  const kind = (step: Step) => step.name ?? step.action;
  /** One walk from the empty state; `next` picks each move (undefined: skip this position). */
  const walk = (positions: number, next: (moves: Step[], i: number) => Step | undefined): Walk =>
    machine.tentatively(() => {
      restore(machine.host.db, empty);
      machine.now = v.start;
      const taken: Walk["taken"] = [];
      for (let i = 0; i < positions; i++) {
        const offered = moves(spec, v, machine, actions);
        const step = next(offered, i);
        if (!step) continue;
        const rank = offered.filter((x) => kind(x) === kind(step)).indexOf(step);
        try {
          v.perform(machine, step);
        } catch (error) {
          return { taken, failed: { name: "crash", step: { step, now: machine.now, rank }, why: `${step.action} throws: ${error instanceof Error ? error.message : String(error)}` } };
        }
        taken.push({ step, now: machine.now, rank });
        for (const p of properties) {
          const why = violation(machine, p);
          if (why) return { taken, failed: { name: `safety:${p.name}`, why } };
        }
      }
      return { taken };
    });
  for (let run = 0; run < runs; run++) {
    let found = walk(length, (m) => (m.length ? m[Math.floor(random() * m.length)] : undefined));
    if (!found.failed) continue;
    // Shrink: drop one step at a time while the same check still fails; a step no longer offered is skipped.
    // The same move again, or the one of its kind at the same place (a reservation id shifts when an earlier sediment is dropped).
    const replay = (steps: Taken[]) =>
      walk(steps.length, (m, i) => {
        const { step, rank } = steps[i]!;
        return m.find((x) => x.action === step.action) ?? m.filter((x) => kind(x) === kind(step))[rank];
      });
    const stepsOf = (w: Walk): Taken[] => [...w.taken, ...(w.failed?.step ? [w.failed.step] : [])];
    for (let i = stepsOf(found).length - 1; i >= 0; i--) {
      const fewer = stepsOf(found).filter((_, j) => j !== i);
      const again = replay(fewer);
      if (again.failed?.name === found.failed!.name) found = again;
    }
    let node: StateNode = { hash: "", now: v.start, depth: 0 };
    for (const t of found.taken) node = { hash: "", now: t.now, depth: node.depth + 1, parent: node, via: t.step };
    const { name, why, step } = found.failed!;
    return { name, failure: { node, ...(step ? { step: step.step } : {}), failure: `${why} (random walk ${run + 1} of ${runs}, shrunk to ${stepsOf(found).length} steps)` } };
  }
  return undefined;
}

/** Replays a failure's path from empty on a fresh database, recording each step's outcome and row changes. */
function counterexample(v: Version, next: Version | undefined, f: Failure, options: CheckOptions): Counterexample {
  const database = options.openDatabase();
  try {
    const machine = v.open(database);
    const steps: CounterexampleStep[] = [];
    const tables = [...new Set([...v.tables, ...(next?.tables ?? [])])];
    const record = (action: string, run: () => string, step?: Step) => {
      const before = capture(machine.host.db);
      let outcome: string;
      try {
        outcome = run();
      } catch (error) {
        outcome = `throws: ${error instanceof Error ? error.message : String(error)}`;
      }
      // Read after the step: an Intent runs at the clock it finds, a clock step at the time it advanced to.
      const sent = step?.intent ? { ...(step.name !== undefined ? { name: step.name, args: step.args ?? {} } : {}), intent: step.intent } : {};
      steps.push({ action, ...sent, now: machine.now, outcome, changes: changes(before, capture(machine.host.db), tables) });
    };
    const moveList = pathOf(f.node).flatMap((n) => (n.via ? [n.via] : []));
    if (f.step && f.epilogue !== "migrate-send") moveList.push(f.step);
    for (const step of moveList) record(step.action, () => v.perform(machine, step).text, step);
    if (f.epilogue === "settle") {
      record("advance the clock past every wake time", () => (v.settle(machine) ?? []).map(wakeText).join("; ") || "nothing frozen");
    }
    if ((f.epilogue === "migrate" || f.epilogue === "migrate-wake" || f.epilogue === "migrate-send") && next) {
      record(`migrate to v${next.version}`, () => {
        const state = applyLineage(machine.host, next.law, machine.now);
        return state.error ? `fails: ${state.error.message}` : `v${state.held.version} applied`;
      });
    }
    if (f.epilogue === "migrate-wake" && next) {
      record(`advance the clock past every wake time under v${next.version}`, () => {
        const s = new Sedimenter(next.law, machine.host, next.world, { held: next.version, appliedAt: () => machine.now, frozenByReference: false, shapes: false });
        return (next.settle(machine, s) ?? []).map(wakeText).join("; ") || "nothing frozen";
      });
    }
    if (f.epilogue === "migrate-send" && next && f.step?.intent) {
      const intent = f.step.intent;
      record(
        `${f.step.action} under v${next.version}`,
        () => sealText(new Sedimenter(next.law, machine.host, next.world, { held: next.version, appliedAt: () => machine.now, frozenByReference: false, shapes: false }).sedimentation(intent)),
        f.step,
      );
    }
    return { steps, failure: f.failure };
  } finally {
    database.close?.();
  }
}
