import {
  DEFAULT_LIMITS,
  type Intent,
  type IntentLimits,
  type NomosStamp,
  nomosStamp,
  operationsOf,
  type ParseResult,
  parseIntent,
  type Vocabulary,
} from "../intent/index.js";
import { intentSieve } from "../sieve/index.js";
import { type Connection, connection } from "./index.js";
import type { EvolutionHints } from "./diff.js";

/**
 * What happens to Intents of the previous law in each phase:
 * - `reforge`: Flat ones run as they are, Curved ones are reforged, then run;
 * - `refuse-curved`: Flat ones run, Curved ones are refused;
 * - `refuse-all`: every Intent of the previous law is refused.
 */
export type Policy = "reforge" | "refuse-curved" | "refuse-all";

/**
 * Supplementary provisions (transitional measures) of a new law for Intents of the previous one.
 * Phases, by the Attractor's clock `t` (milliseconds since the epoch):
 * - before:  t < effectiveFrom                               → always `reforge`
 * - grace:   effectiveFrom ≤ t < effectiveFrom + gracePeriod → `duringGrace` (default `reforge`)
 * - after:   t ≥ effectiveFrom + gracePeriod                 → `afterGrace` (default `refuse-curved`)
 * `effectiveFrom` defaults to the moment this Attractor applied the new law, so a grace
 * period counts from each Attractor's own upgrade; `gracePeriod` defaults to unlimited.
 */
export interface Provisions {
  effectiveFrom?: number;
  gracePeriod?: number;
  duringGrace?: Policy;
  afterGrace?: Policy;
}

export type Phase = "before" | "grace" | "after";

export function phaseAt(provisions: Provisions | undefined, now: number, appliedAt = 0): { phase: Phase; policy: Policy } {
  const from = provisions?.effectiveFrom ?? appliedAt;
  const grace = provisions?.gracePeriod ?? Number.POSITIVE_INFINITY;
  if (now < from) return { phase: "before", policy: "reforge" };
  if (now - from < grace) return { phase: "grace", policy: provisions?.duringGrace ?? "reforge" };
  return { phase: "after", policy: provisions?.afterGrace ?? "refuse-curved" };
}

export interface ReforgeContext {
  from: Vocabulary;
  to: Vocabulary;
  connection: Connection;
}

export interface Evolution extends EvolutionHints {
  /** SQL run in order inside one transaction on the Attractor's first wake under the new law. */
  migration: readonly string[];
  /** Rewrites an Intent of the previous law into one of the new law: data in, data out. Throw to refuse. */
  reforge?: (intent: Intent, context: ReforgeContext) => Intent;
  provisions?: Provisions;
}

/** One step of the way from an Intent's law to the held one. Versions only: the hashes are in the Seal's origin and World. */
export interface CarryStep {
  from: number;
  to: number;
  connection: Connection["type"];
  phase: Phase;
  reforged: boolean;
}

export type CarryResult =
  | { ok: true; intent: Intent; reforged: boolean; steps: CarryStep[] }
  | { ok: false; message: string; connection: Connection; steps: CarryStep[] };

export class LineageDefinitionError extends Error {
  override name = "LineageDefinitionError";
}

const POLICIES: readonly Policy[] = ["reforge", "refuse-curved", "refuse-all"];

/** A NaN time or an unknown policy would silently fall into some phase or policy: refuse it when the law is declared. */
function checkProvisions(law: string, p: Provisions | undefined): void {
  if (!p) return;
  if (p.effectiveFrom !== undefined && !Number.isFinite(p.effectiveFrom)) {
    throw new LineageDefinitionError(`${law}: provisions.effectiveFrom must be a time in milliseconds since the epoch, got ${p.effectiveFrom}`);
  }
  if (p.gracePeriod !== undefined && !(p.gracePeriod >= 0)) {
    throw new LineageDefinitionError(`${law}: provisions.gracePeriod must be zero or more milliseconds, got ${p.gracePeriod}`);
  }
  for (const key of ["duringGrace", "afterGrace"] as const) {
    if (p[key] !== undefined && !POLICIES.includes(p[key])) {
      throw new LineageDefinitionError(`${law}: provisions.${key} must be one of ${POLICIES.join(", ")}, got ${String(p[key])}`);
    }
  }
}

const stampOf = (v: Vocabulary): NomosStamp => nomosStamp(v.nomos);

/** A Nomos's version chain v1 → v2 → …, each step with its migration, reforge and provisions. */
export class Lineage {
  private readonly connections = new Map<string, Connection>();

  private constructor(
    readonly versions: readonly Vocabulary[],
    readonly evolutions: readonly Evolution[],
  ) {}

  static of(first: Vocabulary): Lineage {
    return new Lineage([first], []);
  }

  get current(): Vocabulary {
    return this.versions[this.versions.length - 1]!;
  }

  get name(): string {
    return this.versions[0]!.nomos.name;
  }

  /** The next version of the law. Versions must follow one another (v1, v2, …) under one name. */
  evolve(next: Vocabulary, evolution: Evolution): Lineage {
    const { nomos } = this.current;
    if (next.nomos.name !== nomos.name) throw new LineageDefinitionError(`${next.nomos.name} cannot follow ${nomos.name}: a lineage has one name`);
    if (next.nomos.version !== nomos.version + 1) {
      throw new LineageDefinitionError(`${nomos.name} v${next.nomos.version} cannot follow v${nomos.version}: versions go up by one`);
    }
    checkProvisions(`${nomos.name} v${next.nomos.version}`, evolution.provisions);
    return new Lineage([...this.versions, next], [...this.evolutions, evolution]);
  }

  /** The same lineage ending at `version`: what an older deployment of this code knew. */
  upTo(version: number): Lineage {
    const n = version - this.first + 1;
    if (n < 1 || n > this.versions.length) throw new LineageDefinitionError(`${this.name} has no v${version}`);
    return new Lineage(this.versions.slice(0, n), this.evolutions.slice(0, n - 1));
  }

  /** The first version this lineage declares: usually 1, higher for a law whose history was not kept. */
  get first(): number {
    return this.versions[0]!.nomos.version;
  }

  /** Parses an Intent with the vocabulary of the law it claims (the current one when it claims none). */
  parse(input: unknown, limits: IntentLimits = DEFAULT_LIMITS): ParseResult<Intent> {
    const nomos = (input as { nomos?: { version?: unknown } } | null)?.nomos;
    const claimed = typeof nomos?.version === "number" ? nomos.version : this.current.nomos.version;
    const vocabulary = Number.isInteger(claimed) ? this.at(claimed) : undefined;
    if (!vocabulary) {
      return { ok: false, issues: [{ path: "nomos.version", message: `${this.name} has no v${claimed}; this code knows v1 to v${this.current.nomos.version}` }] };
    }
    return parseIntent(vocabulary, input, limits);
  }

  /** The vocabulary of a version, or undefined when this code does not know it. */
  at(version: number): Vocabulary | undefined {
    return version >= this.first ? this.versions[version - this.first] : undefined;
  }

  /** The evolution that leads from `version` to `version + 1`. */
  evolutionFrom(version: number): Evolution | undefined {
    return version >= this.first ? this.evolutions[version - this.first] : undefined;
  }

  /** Connection across one evolution step for the given operations, cached per (step, operations). */
  private stepConnection(version: number, intent: Intent): Connection {
    const ops = [...new Set(operationsOf(intent))].sort().join(",");
    const key = `${version}|${ops}`;
    let c = this.connections.get(key);
    if (!c) {
      const from = this.at(version)!;
      c = connection(from, this.at(version + 1)!, { sieve: intentSieve(from, intent), hints: this.evolutionFrom(version) });
      this.connections.set(key, c);
    }
    return c;
  }

  /** Connection between any two known versions (whole schema, or under a Sieve). */
  connect(fromVersion: number, toVersion: number, sieveOf?: Intent): Connection[] {
    const out: Connection[] = [];
    for (let v = fromVersion; v < toVersion; v++) {
      const from = this.at(v)!;
      const to = this.at(v + 1)!;
      const sieve = sieveOf ? intentSieve(from, sieveOf) : undefined;
      out.push(connection(from, to, { ...(sieve ? { sieve } : {}), hints: this.evolutionFrom(v) }));
    }
    return out;
  }

  /**
   * Carries a parsed Intent of law `intent.nomos.version` forward to `target`, step by step:
   * Flat → as is, Curved → reforged, Critical → refused, all within each step's provisions.
   */
  carry(intent: Intent, fromVersion: number, target: number, now: number, appliedAt: (version: number) => number | undefined = () => undefined): CarryResult {
    const steps: CarryStep[] = [];
    let reforged = false;
    let current = intent;
    for (let v = fromVersion; v < target; v++) {
      const from = this.at(v)!;
      const to = this.at(v + 1)!;
      const evolution = this.evolutionFrom(v)!;
      const conn = this.stepConnection(v, current);
      const { phase, policy } = phaseAt(evolution.provisions, now, appliedAt(v + 1));
      const step: CarryStep = { from: v, to: v + 1, connection: conn.type, phase, reforged: false };
      steps.push(step);
      const refuse = (message: string): CarryResult => ({ ok: false, message, connection: conn, steps });
      const law = `${to.nomos.name} v${to.nomos.version}`;
      if (conn.type === "Critical") {
        const reason = conn.changes.find((c) => c.effect === "Critical")?.detail ?? "marked critical";
        return refuse(`${law} stops Intents of v${v} at once: ${reason}`);
      }
      if (policy === "refuse-all") return refuse(`${law} no longer accepts Intents of v${v} (${phase} its grace period)`);
      if (conn.type === "Curved") {
        if (policy === "refuse-curved") return refuse(`${law} changed what this Intent touches and no longer reforges Intents of v${v} (${phase} its grace period)`);
        if (!evolution.reforge) return refuse(`${law} changed what this Intent touches and registers no reforge for v${v}`);
        try {
          current = evolution.reforge(current, { from, to, connection: conn });
        } catch (error) {
          return refuse(`reforging for ${law} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        step.reforged = reforged = true;
      }
      if (conn.type === "Flat") {
        // Flat: every operation it names is unchanged (same hash), so its arguments parse the same; only the stamp moves.
        current = { ...current, nomos: stampOf(to) };
        continue;
      }
      const { nomos: _old, ...rest } = current;
      const parsed = parseIntent(to, { ...rest, nomos: stampOf(to) });
      if (!parsed.ok) {
        const first = parsed.issues[0]!;
        return refuse(`${conn.type === "Curved" ? "the reforged Intent" : "the Intent"} is not valid under ${law}: ${first.path ? `${first.path}: ` : ""}${first.message}`);
      }
      current = parsed.value;
    }
    return { ok: true, intent: current, reforged, steps };
  }
}

export function lineage(first: Vocabulary): Lineage {
  return Lineage.of(first);
}
