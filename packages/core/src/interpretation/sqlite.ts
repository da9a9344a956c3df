import type { Json } from "../canonical/index.js";
import {
  CANCEL,
  FREEZE,
  type FreezeArgs,
  MAX_FREEZE_MS,
  type ArgValue,
  formatPath,
  type Intent,
  isRef,
  type InterpretationContext,
  type Row,
  type SqlValue,
  type Vocabulary,
  bindParams,
  statementsOf,
  strictArgs,
  nomosStamp,
} from "../intent/index.js";
import { Refusal, type Reason } from "../seal/types.js";

/** The one thing the SQLite Interpretation needs from its host: run a statement, get its rows. */
export interface SqlExecutor {
  exec(sql: string, params: readonly SqlValue[]): Row[];
}

// A composite key fails with every column listed: "UNIQUE constraint failed: t.a, t.b".
const CONSTRAINT = /(CHECK|UNIQUE|NOT NULL|PRIMARY KEY|FOREIGN KEY) constraint failed: ([A-Za-z0-9_."]+(?:, [A-Za-z0-9_."]+)*)/;

/** Maps a SQLite constraint error to a Reason, or returns null for errors that are bugs, not refusals. */
export function constraintReason(vocabulary: Vocabulary, error: unknown, step: number, op: string): Reason | null {
  const message = error instanceof Error ? error.message : String(error);
  const m = CONSTRAINT.exec(message);
  if (m) {
    const [, kind, name] = m as unknown as [string, string, string];
    const human = kind === "CHECK" ? vocabulary.nomos.checkMessages[name] : undefined;
    const text =
      human ??
      (kind === "UNIQUE" || kind === "PRIMARY KEY"
        ? `${name} must be unique`
        : kind === "NOT NULL"
          ? `${name} must not be null`
          : `${kind} constraint ${name} failed`);
    return { kind: "constraint", message: text, rule: name, step, op };
  }
  if (/cannot store .* value in .* column/.test(message)) {
    return { kind: "constraint", message: message.replace(/: SQLITE_\w+$/, ""), step, op };
  }
  return null;
}

function resolve(args: Record<string, ArgValue>, outputs: readonly Json[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) out[key] = resolveValue(value, outputs);
  return out;
}

/** Where `$freeze` and `$cancel` steps go: the host's Cryostasis, inside the same transaction. */
export interface Freezer {
  /** Stores the frozen Intent (`now` is the freezing Intent's time); with a pending key, returns that entry instead. */
  freeze(request: { wakeAt: number; key?: string | undefined; intent: Intent; now: number }): { cryoId: number; wakeAt: number };
  cancel(key: string): boolean;
}

const invalid = (index: number, op: string, path: PropertyKey[], message: string) =>
  new Refusal({ kind: "validation", message: `step ${index} (${op}): ${message}`, step: index, op, issues: [{ path: formatPath(["steps", index, "args", ...path]), message }] });

function resolveValue(value: ArgValue | undefined, outputs: readonly Json[]): unknown {
  return isRef(value) ? (outputs[value.$ref.step] as Record<string, Json> | undefined)?.[value.$ref.output] : value;
}

/** A `$freeze` step: resolves the outer Refs, checks the wake time and the frozen Intent, and stores it. */
function freezeStep(
  vocabulary: Vocabulary,
  intent: Intent,
  args: FreezeArgs,
  outputs: readonly Json[],
  ctx: InterpretationContext,
  freezer: Freezer,
): Json {
  const op = FREEZE;
  const at = resolveValue(args.at, outputs);
  const delay = resolveValue(args.delaySeconds, outputs);
  const key = resolveValue(args.key, outputs);
  const wakeAt = args.at !== undefined ? at : typeof delay === "number" ? ctx.now + delay * 1000 : delay;
  const field = args.at !== undefined ? "at" : "delaySeconds";
  if (typeof wakeAt !== "number" || !Number.isInteger(wakeAt)) throw invalid(ctx.step, op, [field], "must resolve to whole milliseconds");
  if (wakeAt <= ctx.now) throw invalid(ctx.step, op, [field], `wake time ${new Date(wakeAt).toISOString()} is not in the future`);
  if (wakeAt > ctx.now + MAX_FREEZE_MS) throw invalid(ctx.step, op, [field], `wake time is more than ${MAX_FREEZE_MS / 86_400_000} days ahead`);
  if (key !== undefined && (typeof key !== "string" || key.length < 1 || key.length > 128)) {
    throw invalid(ctx.step, op, ["key"], "must resolve to a string of 1–128 characters");
  }
  // The frozen steps were checked when the Intent was parsed; only values that came from Refs are new.
  const steps = args.intent.steps.map((step, j) => {
    if (!Object.values(step.args).some(isRef)) return step;
    const parsed = strictArgs(vocabulary.operations[step.op]!).safeParse(resolve(step.args, outputs));
    if (!parsed.success) {
      throw new Refusal({
        kind: "validation",
        message: `step ${ctx.step} ($freeze): frozen step ${j} (${step.op}) has invalid arguments`,
        step: ctx.step,
        op,
        issues: parsed.error.issues.map((i) => ({ path: formatPath(["steps", ctx.step, "args", "intent", "steps", j, "args", ...i.path]), message: i.message })),
      });
    }
    const resolved: Record<string, ArgValue> = {};
    for (const [k, v] of Object.entries(parsed.data as Record<string, ArgValue>)) if (v !== undefined) resolved[k] = v;
    return { op: step.op, args: resolved };
  });
  const frozen: Intent = { v: 1, nomos: intent.nomos ?? nomosStamp(vocabulary.nomos), steps };
  const stored = freezer.freeze({ wakeAt, key: key as string | undefined, intent: frozen, now: ctx.now });
  return { cryoId: stored.cryoId, wakeAt: stored.wakeAt };
}

/**
 * The SQLite Interpretation: runs every step, then every invariant. It must run
 * inside the host's transaction; a Refusal thrown here rolls all of it back.
 */
export function interpret(
  vocabulary: Vocabulary,
  intent: Intent,
  db: SqlExecutor,
  context: Omit<InterpretationContext, "step">,
  freezer?: Freezer,
): Json[] {
  const outputs: Json[] = [];
  intent.steps.forEach((step, index) => {
    if (step.op === FREEZE || step.op === CANCEL) {
      if (!freezer) throw new Refusal({ kind: "validation", message: `step ${index}: ${step.op} needs an Attractor with Cryostasis`, step: index, op: step.op });
      const ctx = { ...context, step: index };
      if (step.op === FREEZE) outputs.push(freezeStep(vocabulary, intent, step.args as unknown as FreezeArgs, outputs, ctx, freezer));
      else {
        const key = resolveValue(step.args.key, outputs);
        if (typeof key !== "string" || key.length < 1 || key.length > 128) throw invalid(index, CANCEL, ["key"], "must resolve to a string of 1–128 characters");
        outputs.push({ cancelled: freezer.cancel(key) });
      }
      return;
    }
    const op = vocabulary.operations[step.op];
    if (!op) throw new Refusal({ kind: "validation", message: `unknown operation "${step.op}"`, step: index });
    // Only a step with Refs needs validating again: the rest was parsed already, and values from Refs were not.
    const parsed = Object.values(step.args).some(isRef)
      ? strictArgs(op).safeParse(resolve(step.args, outputs))
      : { success: true as const, data: step.args as Record<string, unknown>, error: undefined };
    if (!parsed.success) {
      throw new Refusal({
        kind: "validation",
        message: `step ${index} (${step.op}) has invalid arguments`,
        step: index,
        op: step.op,
        issues: parsed.error.issues.map((i) => ({ path: formatPath(["steps", index, "args", ...i.path]), message: i.message })),
      });
    }
    const ctx = { ...context, step: index };
    const rows: Record<string, Row[]> = {};
    for (const [name, statement] of statementsOf(op)) {
      const params = bindParams(statement, parsed.data, ctx);
      let result: Row[];
      try {
        result = db.exec(statement.sql, params);
      } catch (error) {
        const reason = constraintReason(vocabulary, error, index, step.op);
        if (reason) throw new Refusal(reason);
        throw error;
      }
      if (statement.expectation && result.length !== statement.expectation.rows) {
        const { kind = "expectation", refusal } = statement.expectation;
        throw new Refusal({ kind, message: refusal(parsed.data as never), step: index, op: step.op });
      }
      rows[name] = result;
    }
    outputs.push(op.result(rows, parsed.data, ctx) as Json);
  });
  for (const [name, invariant] of Object.entries(vocabulary.nomos.invariants)) {
    const violations = db.exec(invariant.violations, []);
    if (violations.length > 0) {
      throw new Refusal({
        kind: "invariant",
        message: `${invariant.message} (violated by ${JSON.stringify(violations[0])})`,
        rule: name,
      });
    }
  }
  return outputs;
}
