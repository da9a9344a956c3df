import { canonicalJson, type Json, sha256Hex } from "../canonical/index.js";
import { Lineage } from "../connection/lineage.js";
import { DEFAULT_LIMITS, type Intent, type IntentLimits, parseIntent, type Vocabulary } from "../intent/index.js";
import { interpret, type SqlExecutor } from "../interpretation/index.js";
import { hashCanonicalSediment } from "./chain.js";
import { SedimentLog } from "./store.js";
import { type Origin, Refusal, type Reason, type Seal, type Sediment, type World } from "./types.js";

/** What sedimentation needs from its runtime: SQL, a synchronous transaction and a clock. */
export interface SedimentHost {
  db: SqlExecutor;
  /** Runs `fn` atomically: if it throws, nothing it wrote survives. */
  transaction<T>(fn: () => T): T;
  now(): number;
}

export interface SedimenterOptions {
  /** The law this Attractor holds; defaults to the lineage's current one. */
  held?: number;
  limits?: IntentLimits;
  /** Why this Attractor refuses every Intent (its stored law is unknown to the code). */
  unavailable?: string;
  /** Why Intents of a law newer than the held one cannot run yet (a failed migration). */
  pending?: string;
  /** When this Attractor applied each version: where grace periods start by default. */
  appliedAt?: (version: number) => number | undefined;
}

function sealOf(s: Sediment): Seal {
  return {
    success: true,
    sedimentId: s.sedimentId,
    hash: s.hash,
    prevHash: s.prevHash,
    timestamp: s.timestamp,
    world: s.world,
    outputs: s.outputs,
    ...(s.origin ? { origin: s.origin } : {}),
  };
}

/** The Intent as it was sent: stored as is, or carried forward from an earlier law. */
function sentOf(s: Sediment): Intent {
  if (!s.origin) return s.intent;
  return s.origin.intent ?? { ...s.intent, nomos: s.origin.nomos };
}

/** The `nomos.version` an input claims, without trusting its shape. */
function claimedVersion(input: unknown): number | undefined {
  const nomos = (input as { nomos?: { version?: unknown } } | null)?.nomos;
  return typeof nomos?.version === "number" && Number.isInteger(nomos.version) ? nomos.version : undefined;
}

/**
 * Runtime-agnostic sedimentation: validate, carry Intents of earlier laws forward through
 * the Connection, interpret, check invariants and append to the chain in one transaction;
 * on refusal roll back and record a Precedent.
 */
export class Sedimenter {
  readonly log: SedimentLog;
  readonly lineage: Lineage;
  /** The vocabulary of the law this Attractor holds. */
  readonly vocabulary: Vocabulary;
  private head: { sedimentId: number; hash: string };
  private readonly worldHash: string;
  private readonly limits: IntentLimits;

  constructor(
    law: Vocabulary | Lineage,
    private readonly host: SedimentHost,
    private readonly world: World,
    private readonly options: SedimenterOptions = {},
  ) {
    this.lineage = law instanceof Lineage ? law : Lineage.of(law);
    this.vocabulary = this.lineage.at(options.held ?? this.lineage.current.nomos.version) ?? this.lineage.current;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.log = new SedimentLog(host.db);
    // Kept in memory: only a committed transaction advances it, so it never runs ahead of storage.
    this.head = this.log.head();
    const worldJson = canonicalJson(world);
    this.worldHash = sha256Hex(worldJson);
    this.log.registerWorld(worldJson, this.worldHash);
  }

  sediment(input: unknown): Seal {
    const timestamp = this.host.now();
    const { nomos } = this.vocabulary;
    if (this.options.unavailable) return this.refuse(input, timestamp, { kind: "nomos", message: this.options.unavailable });
    // The Intent is parsed with the vocabulary of the law it claims, when this code knows it.
    const claimed = claimedVersion(input) ?? nomos.version;
    const vocabulary = claimed <= nomos.version ? this.lineage.at(claimed) : undefined;
    if (!vocabulary) {
      const why = claimed > nomos.version && this.options.pending ? ` (${this.options.pending})` : "";
      return this.refuse(input, timestamp, {
        kind: "nomos",
        message: `Intent was built against ${nomos.name} v${claimed}, but this Attractor holds v${nomos.version}${why}`,
      });
    }
    const parsed = parseIntent(vocabulary, input, this.limits);
    if (!parsed.ok) {
      const first = parsed.issues[0]!;
      return this.refuse(input, timestamp, {
        kind: "validation",
        message: `invalid Intent: ${first.path ? `${first.path}: ` : ""}${first.message}`,
        issues: parsed.issues,
      });
    }
    const sent = parsed.value;
    const stamp = sent.nomos;
    if (stamp && stamp.hash !== vocabulary.nomos.hash) {
      return this.refuse(sent, timestamp, {
        kind: "nomos",
        message: `Intent was built against a ${stamp.name} v${stamp.version} with hash ${stamp.hash.slice(0, 12)}…, but v${stamp.version} here is ${vocabulary.nomos.hash.slice(0, 12)}…`,
      });
    }
    if (sent.idempotencyKey !== undefined) {
      const earlier = this.log.byIdempotencyKey(sent.idempotencyKey);
      if (earlier) {
        if (canonicalJson(sentOf(earlier)) === canonicalJson(sent)) return sealOf(earlier);
        return this.refuse(sent, timestamp, {
          kind: "idempotency",
          message: `idempotency key "${sent.idempotencyKey}" was already used by sediment ${earlier.sedimentId} for a different Intent`,
        });
      }
    }
    let intent = sent;
    let origin: Origin | undefined;
    if (vocabulary !== this.vocabulary) {
      const carried = this.lineage.carry(sent, claimed, nomos.version, timestamp, this.options.appliedAt);
      if (!carried.ok) return this.refuse(sent, timestamp, { kind: "connection", message: carried.message, connection: carried.connection });
      intent = sent.idempotencyKey === undefined ? carried.intent : { ...carried.intent, idempotencyKey: sent.idempotencyKey };
      origin = { nomos: stamp!, reforged: carried.reforged, steps: carried.steps, ...(carried.reforged ? { intent: sent } : {}) };
    }
    try {
      const sediment = this.host.transaction(() => this.commit(intent, timestamp, origin));
      this.head = { sedimentId: sediment.sedimentId, hash: sediment.hash };
      return sealOf(sediment);
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(sent, timestamp, error.reason);
      throw error;
    }
  }

  private commit(intent: Intent, timestamp: number, origin: Origin | undefined): Sediment {
    const sedimentId = this.head.sedimentId + 1;
    const prevHash = this.head.hash;
    const outputs: Json[] = interpret(this.vocabulary, intent, this.host.db, { now: timestamp, sedimentId });
    const canonical = {
      sedimentId,
      prevHash,
      timestamp,
      intent: canonicalJson(intent),
      outputs: canonicalJson(outputs),
      origin: origin ? canonicalJson(origin) : null,
      worldHash: this.worldHash,
    };
    const hash = hashCanonicalSediment(canonical);
    this.log.append({ ...canonical, hash, idempotencyKey: intent.idempotencyKey ?? null });
    return { sedimentId, hash, prevHash, timestamp, intent, outputs, world: this.world, ...(origin ? { origin } : {}) };
  }

  private refuse(input: unknown, timestamp: number, reason: Reason): Seal {
    const { nomos } = this.vocabulary;
    const precedentId = this.host.transaction(() =>
      this.log.recordPrecedent(input, reason, { name: nomos.name, version: nomos.version, hash: nomos.hash }, timestamp, this.limits.maxBytes),
    );
    return { success: false, reason, precedentId, timestamp, world: this.world };
  }
}
