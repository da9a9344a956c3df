import { canonicalJson, type Json, sha256Hex } from "../canonical/index.js";
import { DEFAULT_LIMITS, type Intent, type IntentLimits, parseIntent, type Vocabulary } from "../intent/index.js";
import { interpret, type SqlExecutor } from "../interpretation/index.js";
import { hashCanonicalSediment } from "./chain.js";
import { SedimentLog } from "./store.js";
import { Refusal, type Reason, type Seal, type Sediment, type World } from "./types.js";

/** What sedimentation needs from its runtime: SQL, a synchronous transaction and a clock. */
export interface SedimentHost {
  db: SqlExecutor;
  /** Runs `fn` atomically: if it throws, nothing it wrote survives. */
  transaction<T>(fn: () => T): T;
  now(): number;
}

function sealOf(s: Sediment): Seal {
  return { success: true, sedimentId: s.sedimentId, hash: s.hash, prevHash: s.prevHash, timestamp: s.timestamp, world: s.world, outputs: s.outputs };
}

/**
 * Runtime-agnostic sedimentation: validate, interpret, check invariants and append
 * to the chain in one transaction; on refusal roll back and record a Precedent.
 */
export class Sedimenter {
  readonly log: SedimentLog;
  private head: { sedimentId: number; hash: string };
  private readonly worldHash: string;

  constructor(
    private readonly vocabulary: Vocabulary,
    private readonly host: SedimentHost,
    private readonly world: World,
    private readonly limits: IntentLimits = DEFAULT_LIMITS,
  ) {
    this.log = new SedimentLog(host.db);
    // Kept in memory: only a committed transaction advances it, so it never runs ahead of storage.
    this.head = this.log.head();
    const worldJson = canonicalJson(world);
    this.worldHash = sha256Hex(worldJson);
    this.log.registerWorld(worldJson, this.worldHash);
  }

  sediment(input: unknown): Seal {
    const timestamp = this.host.now();
    const parsed = parseIntent(this.vocabulary, input, this.limits);
    if (!parsed.ok) {
      const first = parsed.issues[0]!;
      return this.refuse(input, timestamp, {
        kind: "validation",
        message: `invalid Intent: ${first.path ? `${first.path}: ` : ""}${first.message}`,
        issues: parsed.issues,
      });
    }
    const intent = parsed.value;
    const stamp = intent.nomos;
    const { nomos } = this.vocabulary;
    if (stamp && (stamp.version !== nomos.version || stamp.hash !== nomos.hash)) {
      return this.refuse(intent, timestamp, {
        kind: "nomos",
        message: `Intent was built against ${stamp.name} v${stamp.version} (${stamp.hash.slice(0, 12)}…), this Attractor runs v${nomos.version} (${nomos.hash.slice(0, 12)}…)`,
      });
    }
    if (intent.idempotencyKey !== undefined) {
      const earlier = this.log.byIdempotencyKey(intent.idempotencyKey);
      if (earlier) {
        if (canonicalJson(earlier.intent) === canonicalJson(intent)) return sealOf(earlier);
        return this.refuse(intent, timestamp, {
          kind: "idempotency",
          message: `idempotency key "${intent.idempotencyKey}" was already used by sediment ${earlier.sedimentId} for a different Intent`,
        });
      }
    }
    try {
      const sediment = this.host.transaction(() => this.commit(intent, timestamp));
      this.head = { sedimentId: sediment.sedimentId, hash: sediment.hash };
      return sealOf(sediment);
    } catch (error) {
      if (error instanceof Refusal) return this.refuse(intent, timestamp, error.reason);
      throw error;
    }
  }

  private commit(intent: Intent, timestamp: number): Sediment {
    const sedimentId = this.head.sedimentId + 1;
    const prevHash = this.head.hash;
    const outputs: Json[] = interpret(this.vocabulary, intent, this.host.db, { now: timestamp, sedimentId });
    const canonical = { sedimentId, prevHash, timestamp, intent: canonicalJson(intent), outputs: canonicalJson(outputs), worldHash: this.worldHash };
    const hash = hashCanonicalSediment(canonical);
    this.log.append({ ...canonical, hash, idempotencyKey: intent.idempotencyKey ?? null });
    return { sedimentId, hash, prevHash, timestamp, intent, outputs, world: this.world };
  }

  private refuse(input: unknown, timestamp: number, reason: Reason): Seal {
    const { nomos } = this.vocabulary;
    const precedentId = this.host.transaction(() =>
      this.log.recordPrecedent(input, reason, { name: nomos.name, version: nomos.version, hash: nomos.hash }, timestamp, this.limits.maxBytes),
    );
    return { success: false, reason, precedentId, timestamp, world: this.world };
  }
}
