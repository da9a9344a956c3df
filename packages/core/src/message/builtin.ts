import * as z from "#zod";
import { canonicalJson } from "../canonical/index.js";
import { type BuiltinStep, explainedValue, invalidStep, keyIssue, prefixed, splitRefs } from "../builtin/index.js";
import { type ArgValue, type Intent, type Ref, resolveValue } from "../intent/index.js";
import { isRecordedChecked } from "../intent/checked.js";
import { zodIssues } from "../issue/index.js";
import { MAX_NAME_LENGTH } from "../nomos/index.js";
import { once } from "../once.js";
import { SEND_SQL } from "./store.js";

/** The built-in step that sends a message: brought by messagesFeature (index.ts). */
export const SEND = "$send";

/** Characters of the name a message's target is addressed by. */
export const MAX_TARGET_NAME = 256;

/** Arguments of a `$send` step: the target, the Intent built with the target's law, and an optional key. */
export interface SendArgs {
  to: { attractor: string; name: string };
  intent: Intent;
  key?: string | Ref;
}

// The Intent is checked against the target's law where that law is known: by the sending Attractor, when it runs.
// Built on the first `$send`: most Intents send nothing.
const sendArgs = once(() =>
  z.strictObject({
    to: z.strictObject({ attractor: z.string().check(z.minLength(1), z.maxLength(MAX_NAME_LENGTH)), name: z.string().check(z.minLength(1), z.maxLength(MAX_TARGET_NAME)) }),
    intent: z.looseObject({
      v: z.literal(1, { error: "wire format version must be 1" }),
      nomos: z.looseObject({}, { error: "a message carries the stamp of its target's law: build it with the target's vocabulary" }),
      idempotencyKey: z.optional(z.never({ error: "a message is sent under its key: give `key` to $send instead" })),
      steps: z.array(z.unknown()).check(z.minLength(1, "an Intent needs at least one step")),
    }),
    key: z.optional(z.unknown()),
  }),
);

export const sendStep: BuiltinStep = {
  op: SEND,
  description: "Sends an Intent to another Attractor as a message, atomically with the rest of this Intent; delivered at least once, applied once under its key.",
  refFields: ["key"],
  outputs: ["messageId", "key"],
  carries: "intent",
  check(scope, given, at) {
    const { rest, refs, issues } = splitRefs(scope, given, this.refFields, at);
    const argsAt = [...at, "args"];
    if (rest.key !== undefined) {
      const bad = keyIssue(rest.key);
      if (bad) issues.push(prefixed(bad, argsAt));
    }
    const parsed = sendArgs().safeParse(rest);
    if (!parsed.success) issues.push(...zodIssues(parsed.error, argsAt));
    if (issues.length || !parsed.success) return { ok: false, issues };
    // A carried Intent built (and frozen) by buildIntent goes on as itself, not as Zod's copy: the sender's check of it
    // against the target's law (Messages.checkMessage) then knows it checked, and parses it no second time.
    const intent = isRecordedChecked(rest.intent) ? rest.intent : parsed.data.intent;
    const out: Record<string, ArgValue> = { to: parsed.data.to, intent: intent as unknown as ArgValue };
    const key = refs.key ?? (parsed.data.key as ArgValue | undefined);
    if (key !== undefined) out.key = key;
    return { ok: true, value: out };
  },
  interpret({ args, outputs, ctx, host }) {
    const a = args as unknown as SendArgs;
    const key = resolveValue(a.key, outputs);
    const bad = key === undefined ? undefined : keyIssue(key, "resolve to");
    if (bad) throw invalidStep(ctx.step, SEND, bad);
    return host.send({ to: a.to, intent: a.intent, key: key as string | undefined, now: ctx.now, sedimentId: ctx.sedimentId, step: ctx.step });
  },
  // The key, when none is given, and the Sieve are the Attractor's to derive: shown as placeholders.
  explain(_vocabulary, _intent, args, context) {
    const a = args as unknown as SendArgs;
    const key = a.key === undefined ? "(derived from this World, the sediment and the step)" : explainedValue(a.key);
    return { sql: SEND_SQL, params: [key, a.to.attractor, a.to.name, canonicalJson(a.intent), "(the Sieve of the Intent under the target's law)", context.sedimentId, "(this step)", context.now, context.now] };
  },
};

