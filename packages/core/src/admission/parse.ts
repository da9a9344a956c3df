import { checkStepArgs } from "../interpretation/index.js";
import type { Lineage } from "../connection/lineage.js";
import { recordChecked, wasChecked } from "../intent/checked.js";
import { canonicalIntent, DEFAULT_LIMITS, type Intent, type IntentLimits, type IntentStep, parseEnvelope, type Vocabulary } from "../intent/index.js";
import { type Issue, issue, type ParseResult } from "../issue/index.js";

/** Parses untrusted input into an Intent of this vocabulary, or says exactly what is wrong. */
export function parseIntent(vocabulary: Vocabulary, input: unknown, limits: IntentLimits = DEFAULT_LIMITS): ParseResult<Intent> {
  // Built and checked by buildIntent in this isolate, against this vocabulary, and frozen since: validated once.
  if (wasChecked(input, vocabulary, limits)) return { ok: true, value: input };
  const envelope = parseEnvelope(vocabulary, input, limits);
  if (!envelope.ok) return envelope;
  const { value: raw, issues } = envelope;
  const steps = raw.steps as IntentStep[];
  const out: IntentStep[] = [];
  steps.forEach((step, i) => {
    const r = checkStepArgs(vocabulary, steps, i);
    if (r.ok) out.push({ args: r.value, op: step.op });
    else issues.push(...r.issues);
  });
  if (issues.length) return { ok: false, issues };
  return { ok: true, value: canonicalIntent(raw.nomos, out, raw.idempotencyKey) };
}

/** The `nomos.version` an input claims, without trusting its shape; undefined when it claims none. */
export function claimedVersion(input: unknown): number | undefined {
  const nomos = (input as { nomos?: { version?: unknown } } | null)?.nomos;
  return typeof nomos?.version === "number" && Number.isInteger(nomos.version) ? nomos.version : undefined;
}

/** Parses an Intent with the vocabulary of the law it claims (the latest when it claims none). */
export function parseClaimed(lineage: Lineage, input: unknown, limits: IntentLimits = DEFAULT_LIMITS): ParseResult<Intent> {
  const vocabulary = claimedVocabulary(lineage, input);
  return "issues" in vocabulary ? vocabulary : parseIntent(vocabulary, input, limits);
}

/**
 * `parseClaimed`, with the Intent it returns remembered as checked (deep-frozen, see
 * intent/checked.ts): admitting it in this isolate, under limits at least as wide, parses it no
 * second time. For a host that checks an Intent before it sediments it (a sync send frame).
 */
export function parseClaimedOnce(lineage: Lineage, input: unknown, limits: IntentLimits = DEFAULT_LIMITS): ParseResult<Intent> {
  const vocabulary = claimedVocabulary(lineage, input);
  if ("issues" in vocabulary) return vocabulary;
  const parsed = parseIntent(vocabulary, input, limits);
  if (parsed.ok) recordChecked(parsed.value, vocabulary, limits);
  return parsed;
}

/** The vocabulary of the law an input claims (the latest when it claims none), or the issue of a version this code does not know. */
function claimedVocabulary(lineage: Lineage, input: unknown): Vocabulary | { ok: false; issues: Issue[] } {
  const nomos = (input as { nomos?: { version?: unknown } } | null)?.nomos;
  const claimed = typeof nomos?.version === "number" ? nomos.version : lineage.latest.nomos.version;
  const vocabulary = Number.isInteger(claimed) ? lineage.at(claimed) : undefined;
  return vocabulary ?? { ok: false, issues: [issue("nomos", ["nomos", "version"], `${lineage.name} has no v${claimed}; this code knows v${lineage.first} to v${lineage.latest.nomos.version}`)] };
}
