import { type Intent, operationsOf, type Vocabulary } from "../intent/index.js";
import { intentSieve, type Sieve, sieveHash } from "../sieve/index.js";
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

/** Where a version stands against its provisions' dates: before it takes effect, in its grace period, or after. */
export type Phase = "before" | "grace" | "after";

export function phaseAt(provisions: Provisions | undefined, now: number, appliedAt = 0): { phase: Phase; policy: Policy } {
  const from = provisions?.effectiveFrom ?? appliedAt;
  const grace = provisions?.gracePeriod ?? Number.POSITIVE_INFINITY;
  if (now < from) return { phase: "before", policy: "reforge" };
  if (now - from < grace) return { phase: "grace", policy: provisions?.duringGrace ?? "reforge" };
  return { phase: "after", policy: provisions?.afterGrace ?? "refuse-curved" };
}

/** What a reforge function is given: the old and the new law and the Connection between them. */
export interface ReforgeContext {
  from: Vocabulary;
  to: Vocabulary;
  connection: Connection;
}

/** How a Lineage moves from one version to the next: the migration SQL, and the reforge of old Intents. */
export interface Evolution extends EvolutionHints {
  /** SQL run in order inside one transaction on the Attractor's first wake under the new law. */
  migration: readonly string[];
  /** Rewrites an Intent of the previous law into one of the new law: data in, data out. Throw to refuse. */
  reforge?: (intent: Intent, context: ReforgeContext) => Intent;
  provisions?: Provisions;
}

/** Thrown by `lineage()` when its versions or provisions are wrong (a version that does not follow, bad dates or policies), so a bad law fails when it is defined. */
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

/** The vocabulary at the end of a list of versions. */
export type LastOf<Vs extends readonly Vocabulary[]> = Vs extends readonly [...unknown[], infer L extends Vocabulary] ? L : Vs[number];
/** The version numbers a list of vocabularies declares (literal when each Nomos was defined with a literal version). */
export type VersionOf<Vs extends readonly Vocabulary[]> = Vs[number]["nomos"]["version"];
/** The vocabulary of version `N` among `Vs`. */
export type VocabularyAt<Vs extends readonly Vocabulary[], N extends number> = Extract<Vs[number], { readonly nomos: { readonly version: N } }>;
/** The newest vocabulary of a law: the law itself, or a Lineage's latest. */
export type LatestOf<L extends Vocabulary | Lineage> = L extends Lineage<infer Vs> ? LastOf<Vs> : L extends Vocabulary ? L : never;

/**
 * A Nomos's version chain v1 → v2 → …, each step with its migration, reforge and provisions.
 * Typed by its versions, in order: `lineage(v1).evolve(v2, …)` is a `Lineage<[V1, V2]>`, whose
 * `latest` is `V2` and whose `version(1)` is `V1`, so `buildIntent(law.latest, …)` is typed.
 */
export class Lineage<Vs extends readonly Vocabulary[] = readonly Vocabulary[]> {
  private readonly connections = new Map<string, Connection>();

  private constructor(
    readonly versions: Vs,
    readonly evolutions: readonly Evolution[],
  ) {}

  static of<V extends Vocabulary>(first: V): Lineage<[V]> {
    return new Lineage<[V]>([first], []);
  }

  /** The newest law this code declares. */
  get latest(): LastOf<Vs> {
    return this.versions[this.versions.length - 1]! as LastOf<Vs>;
  }

  /**
   * The vocabulary of one version this lineage declares, typed: `law.version(2)`. Throws for a
   * version it does not declare (`at` answers undefined instead).
   */
  version<N extends VersionOf<Vs>>(version: N): VocabularyAt<Vs, N> {
    const vocabulary = this.at(version);
    if (!vocabulary) throw new LineageDefinitionError(`${this.name} has no v${version}`);
    return vocabulary as VocabularyAt<Vs, N>;
  }

  get name(): string {
    return this.versions[0]!.nomos.name;
  }

  /** The next version of the law. Versions must follow one another (v1, v2, …) under one name. */
  evolve<V extends Vocabulary>(next: V, evolution: Evolution): Lineage<[...Vs, V]> {
    const { nomos } = this.latest;
    if (next.nomos.name !== nomos.name) throw new LineageDefinitionError(`${next.nomos.name} cannot follow ${nomos.name}: a lineage has one name`);
    if (next.nomos.version !== nomos.version + 1) {
      throw new LineageDefinitionError(`${nomos.name} v${next.nomos.version} cannot follow v${nomos.version}: versions go up by one`);
    }
    checkProvisions(`${nomos.name} v${next.nomos.version}`, evolution.provisions);
    return new Lineage<[...Vs, V]>([...this.versions, next], [...this.evolutions, evolution]);
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

  /** The vocabulary of a version, or undefined when this code does not know it. */
  at(version: number): Vocabulary | undefined {
    return version >= this.first ? this.versions[version - this.first] : undefined;
  }

  /** The evolution that leads from `version` to `version + 1`. */
  evolutionFrom(version: number): Evolution | undefined {
    return version >= this.first ? this.evolutions[version - this.first] : undefined;
  }

  /**
   * The Connection across the evolution from `version` for an Intent of that law, under its
   * Sieve: the one stored with it when given (a frozen Intent), else derived from its operations.
   * Cached per step and Sieve.
   */
  stepConnection(version: number, intent: Intent, sieve?: Sieve): Connection {
    const key = `${version}|${sieve ? sieveHash(sieve) : [...new Set(operationsOf(intent))].sort().join(",")}`;
    let c = this.connections.get(key);
    if (!c) {
      const from = this.at(version)!;
      c = connection(from, this.at(version + 1)!, { sieve: sieve ?? intentSieve(from, intent), hints: this.evolutionFrom(version) });
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
}

/** A lineage that starts at `first`: `lineage(v1).evolve(v2, { migration: […] })`. */
export function lineage<V extends Vocabulary>(first: V): Lineage<[V]> {
  return Lineage.of(first);
}
