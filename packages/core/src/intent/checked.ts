import type { Vocabulary } from "./vocabulary.js";
import type { Intent, IntentLimits } from "./wire.js";

/**
 * Intents the builder checked, with the vocabulary and limits it checked them against. Each
 * is deep-frozen when recorded, so it cannot change afterwards: parsing it again in the same
 * isolate (an Intent built inside the Attractor) would only repeat the same checks. An Intent
 * that crossed RPC is a copy, not recorded, and is parsed in full. Internal: not exported.
 */
const checked = new WeakMap<object, { vocabulary: Vocabulary; limits: IntentLimits }>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  // for…in rather than Object.values: no array per object. Intents are plain data, nothing inherited.
  for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
}

export function recordChecked(intent: Intent, vocabulary: Vocabulary, limits: IntentLimits): void {
  deepFreeze(intent);
  checked.set(intent, { vocabulary, limits });
}

/** Whether `value` is an Intent recorded as checked (against any vocabulary): deep-frozen, so it may be passed on as is. */
export function isRecordedChecked(value: unknown): boolean {
  return value !== null && typeof value === "object" && checked.has(value);
}

/** Whether `input` is an Intent the builder checked against this vocabulary, under limits at least as strict. */
export function wasChecked(input: unknown, vocabulary: Vocabulary, limits: IntentLimits): input is Intent {
  if (input === null || typeof input !== "object") return false;
  const c = checked.get(input);
  return (
    c !== undefined &&
    c.vocabulary === vocabulary &&
    c.limits.maxSteps <= limits.maxSteps &&
    c.limits.maxBytes <= limits.maxBytes &&
    c.limits.maxStringLength <= limits.maxStringLength &&
    c.limits.maxArrayLength <= limits.maxArrayLength
  );
}
