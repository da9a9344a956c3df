import { type Connection, type ConnectionType, moreSevere } from "../connection/index.js";
import type { Lineage } from "../connection/lineage.js";
import type { Intent, IntentLimits } from "../intent/index.js";
import { type Issue, issue, prefixIssues } from "../issue/index.js";
import { explain, type Explanation } from "../interpretation/index.js";
import type { Reason } from "../refusal/index.js";
import { admissionIssues, admit, type Origin } from "./admit.js";
import { parseClaimed } from "./parse.js";

/** What `explainOutside` (and an Attractor's `explain`) answers: the SQL an Intent would run, or why it would be refused. */
export type ExplainResult = { ok: true; explanation: Explanation; origin?: Origin } | { ok: false; reason: Reason; issues: Issue[] };

/**
 * Explains an Intent outside any Attractor, as a freshly upgraded one holding the latest law
 * would run it: admitted the same way (an older Intent is carried, inside its grace period).
 * The sedimentId is not known yet: 0 stands for "assigned at sedimentation".
 */
export function explainOutside(lineage: Lineage, input: unknown, options: { now: number; limits?: IntentLimits }): ExplainResult {
  const { now } = options;
  const admitted = admit(lineage, input, { now, appliedAt: () => now, ...(options.limits ? { limits: options.limits } : {}) });
  if (!admitted.ok) return { ok: false, reason: admitted.reason, issues: admissionIssues(admitted.reason) };
  const explanation = explain(lineage.latest, admitted.intent, { now, sedimentId: 0 });
  return { ok: true, explanation, ...(admitted.origin ? { origin: admitted.origin } : {}) };
}

/** The Connection between two laws as `connectionFor` reports it: its type and each change. */
export interface ConnectionReport {
  /** The most severe step's type. */
  type: ConnectionType;
  from: number;
  to: number;
  steps: Connection[];
}

/**
 * The Connection from version `from` to `to` (the latest by default), over the whole law or
 * under the Sieve of an Intent of `from` (one without a stamp is read as one of `from`).
 */
export function connectionFor(
  lineage: Lineage,
  request: { from: number; to?: number; intent?: unknown },
  limits?: IntentLimits,
): { ok: true; report: ConnectionReport } | { ok: false; issues: Issue[] } {
  const latest = lineage.latest.nomos.version;
  const { from, to = latest } = request;
  const known = (v: number) => Number.isInteger(v) && lineage.at(v) !== undefined;
  const range = `this code knows v${lineage.first} to v${latest}`;
  if (!known(from)) return { ok: false, issues: [issue("nomos", ["from"], `${lineage.name} has no v${from}; ${range}`)] };
  if (!known(to)) return { ok: false, issues: [issue("nomos", ["to"], `${lineage.name} has no v${to}; ${range}`)] };
  if (from > to) return { ok: false, issues: [issue("invalid_value", ["to"], `must not be before from (v${from}); a Connection runs forward`)] };
  let intent: Intent | undefined;
  if (request.intent !== undefined) {
    const { nomos } = lineage.at(from)!;
    const given = request.intent !== null && typeof request.intent === "object" ? request.intent : {};
    const parsed = parseClaimed(lineage, { nomos: { name: nomos.name, version: from, hash: nomos.hash }, ...given }, limits);
    if (!parsed.ok) return { ok: false, issues: prefixIssues(parsed.issues, ["intent"]) };
    const stamp = parsed.value.nomos!;
    if (stamp.version !== from || stamp.hash !== nomos.hash) {
      const message = `the Intent was built against ${stamp.name} v${stamp.version} (${stamp.hash.slice(0, 12)}…), not the v${from} this code declares (${nomos.hash.slice(0, 12)}…)`;
      return { ok: false, issues: [issue("nomos", ["intent", "nomos"], message)] };
    }
    intent = parsed.value;
  }
  const steps = lineage.connect(from, to, intent);
  const type = steps.reduce<ConnectionType>((t, s) => moreSevere(t, s.type), "Flat");
  return { ok: true, report: { type, from, to, steps } };
}
