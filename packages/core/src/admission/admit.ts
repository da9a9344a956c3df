import { type Connection } from "../connection/index.js";
import { type Lineage, phaseAt, type Phase } from "../connection/lineage.js";
import { DEFAULT_LIMITS, type Intent, type IntentLimits, type NomosStamp, nomosStamp, type Vocabulary } from "../intent/index.js";
import { formatIssues, type Issue, issue } from "../issue/index.js";
import type { World } from "../host/index.js";
import type { Reason } from "../refusal/index.js";
import type { Sieve } from "../sieve/index.js";
import { claimedVersion, parseIntent } from "./parse.js";

/** One step of the way from an Intent's law to the held one. Versions only: the hashes are in the Seal's origin and World. */
export interface CarryStep {
  from: number;
  to: number;
  connection: Connection["type"];
  phase: Phase;
  reforged: boolean;
}

/** How an Intent came to run when it did not arrive straight from a client under this law. */
export interface Origin {
  /** The law the Intent was built against. */
  nomos: NomosStamp;
  /** Whether a reforge function rewrote it on the way from its law to this one. */
  reforged: boolean;
  /** Present when it was frozen and woken by the alarm: resumed as it was, or reforged. */
  cryostasis?: { cryoId: number; frozenAt: number; wakeAt: number; wokeAt: number; mode: "resumed" | "reforged" };
  /** Present when it arrived as a message from another World (idempotent under the message key). */
  message?: { from: World; sedimentId: number; step: number; messageId: number };
  /** The Intent as it was sent, kept when reforging changed it; a Flat one differs only in its `nomos`. */
  intent?: Intent;
  steps: CarryStep[];
}

/** What carrying an Intent to the current law gave: the Intent to run (reforged or not), or why it may not run. */
export type CarryResult =
  | { ok: true; intent: Intent; reforged: boolean; steps: CarryStep[] }
  | { ok: false; message: string; connection: Connection; steps: CarryStep[] };

const stampOf = (v: Vocabulary): NomosStamp => nomosStamp(v.nomos);

/**
 * Carries a parsed Intent of law `fromVersion` forward to `target`, step by step, within each
 * step's provisions: Flat → as is, Curved → reforged, Critical → refused. `sieve` is the
 * Sieve stored with a frozen Intent: it decides the first step's Connection.
 */
export function carry(
  lineage: Lineage,
  intent: Intent,
  fromVersion: number,
  target: number,
  now: number,
  appliedAt: (version: number) => number | undefined = () => undefined,
  sieve?: Sieve,
): CarryResult {
  const steps: CarryStep[] = [];
  let reforged = false;
  let current = intent;
  for (let v = fromVersion; v < target; v++) {
    const from = lineage.at(v)!;
    const to = lineage.at(v + 1)!;
    const evolution = lineage.evolutionFrom(v)!;
    const conn = lineage.stepConnection(v, current, v === fromVersion ? sieve : undefined);
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
    if (!parsed.ok) return refuse(`${conn.type === "Curved" ? "the reforged Intent" : "the Intent"} is not valid under ${law}: ${formatIssues(parsed.issues.slice(0, 1))}`);
    current = parsed.value;
  }
  return { ok: true, intent: current, reforged, steps };
}

export interface AdmissionOptions {
  /** The Attractor's clock: provisions are decided by it. */
  now: number;
  /** The version held; defaults to the lineage's latest. */
  held?: number;
  limits?: IntentLimits;
  /** When each version was applied: where grace periods start by default. */
  appliedAt?: (version: number) => number | undefined;
  /** Why every Intent is refused (the stored law is unknown to the code). */
  unavailable?: string;
  /** Why Intents of a law newer than the held one cannot run yet (a failed migration). */
  pending?: string;
  /** The Sieve stored with a frozen Intent: it decides the Connection instead of one derived again. */
  sieve?: Sieve;
}

/** An input made ready to run under the held law, or the reason it cannot be. */
export type Admission = { ok: true; sent: Intent; intent: Intent; origin?: Origin } | { ok: false; reason: Reason; input: unknown };

/** A refused Admission (module level: no closure per admission, see interpretation/builtins.ts's Scope). */
const refusedAdmission = (reason: Reason, input: unknown): Admission => ({ ok: false, reason, input });

/**
 * Admission, in one place: which law the input claims, parsing with that law's vocabulary,
 * the stamp's hash, and carrying it across to the held law under its provisions.
 * Sedimentation, wake, explain and the HTTP routes all admit through here.
 */
export function admit(lineage: Lineage, input: unknown, options: AdmissionOptions): Admission {
  const held = (options.held !== undefined ? lineage.at(options.held) : undefined) ?? lineage.latest;
  const { nomos } = held;
  if (options.unavailable) return refusedAdmission({ kind: "nomos", message: options.unavailable }, input);
  // The Intent is parsed with the vocabulary of the law it claims, when this code knows it.
  const claimed = claimedVersion(input) ?? nomos.version;
  const vocabulary = claimed <= nomos.version ? lineage.at(claimed) : undefined;
  if (!vocabulary) {
    const why = claimed > nomos.version && options.pending ? ` (${options.pending})` : "";
    return refusedAdmission({ kind: "nomos", message: `Intent was built against ${nomos.name} v${claimed}, but this Attractor holds v${nomos.version}${why}` }, input);
  }
  const parsed = parseIntent(vocabulary, input, options.limits ?? DEFAULT_LIMITS);
  if (!parsed.ok) return refusedAdmission({ kind: "validation", message: `invalid Intent: ${formatIssues(parsed.issues.slice(0, 1))}`, issues: parsed.issues }, input);
  const sent = parsed.value;
  const stamp = sent.nomos;
  if (stamp && stamp.hash !== vocabulary.nomos.hash) {
    const message = `Intent was built against a ${stamp.name} v${stamp.version} with hash ${stamp.hash.slice(0, 12)}…, but v${stamp.version} here is ${vocabulary.nomos.hash.slice(0, 12)}…`;
    return refusedAdmission({ kind: "nomos", message }, sent);
  }
  if (vocabulary === held) return { ok: true, sent, intent: sent };
  const carried = carry(lineage, sent, claimed, nomos.version, options.now, options.appliedAt, options.sieve);
  if (!carried.ok) return refusedAdmission({ kind: "connection", message: carried.message, connection: carried.connection }, sent);
  const intent = sent.idempotencyKey === undefined ? carried.intent : { ...carried.intent, idempotencyKey: sent.idempotencyKey };
  return { ok: true, sent, intent, origin: { nomos: stamp!, reforged: carried.reforged, steps: carried.steps, ...(carried.reforged ? { intent: sent } : {}) } };
}

/** The issues of a refused admission: its own, or its message as one issue about the whole input. */
export function admissionIssues(reason: Reason): Issue[] {
  return reason.issues ?? [issue(reason.kind, [], reason.message)];
}
