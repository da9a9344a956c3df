// `noema check --emit-test`: a counterexample as a vitest test that replays it against the real Attractor in workerd.
import type { CheckResult, Counterexample, SafetyProperty } from "@noema/core/check";

/** The step the checker adds after a liveness counterexample's path (see the core's explore.ts). */
const SETTLE_ACTION = "advance the clock past every wake time";
/** Checks whose failure is a query returning rows after the steps: only these replay as a test. */
const REPLAYABLE = new Set(["safety", "liveness"]);

/** What `env.<binding>` accepts as it is written in the test. */
export const BINDING_NAME = /^[A-Za-z_$][\w$]*$/;

export interface EmitSource {
  /** The module as the user named it, for the test's header. */
  module: string;
  /** The Durable Object binding of the Attractor that runs the law in the test Worker: an identifier (see BINDING_NAME). */
  binding: string;
  /** The clock of the checker's empty state: each clock step is replayed as its difference from the previous step. */
  start: number;
}

export interface Emittable {
  result: CheckResult & { counterexample: Counterexample };
  property: SafetyProperty;
}

/** The shortest failed safety or liveness check, with its property; undefined when none failed. */
export function emittable(results: readonly CheckResult[], properties: readonly SafetyProperty[], liveness: readonly SafetyProperty[]): Emittable | undefined {
  let best: Emittable | undefined;
  for (const result of results) {
    const { counterexample } = result;
    if (result.status !== "failed" || !counterexample || !REPLAYABLE.has(result.kind)) continue;
    const pool = result.kind === "safety" ? properties : liveness;
    const property = pool.find((p) => `${result.kind}:${p.name}` === result.name);
    if (property && (!best || counterexample.steps.length < best.result.counterexample.steps.length)) best = { result: { ...result, counterexample }, property };
  }
  return best;
}

/** A template literal holding `text` as it is. */
const quote = (text: string) => `\`${text.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${")}\``;
/** Text inside a one-line comment: on one line, and never closing a block comment. */
const comment = (text: string) => text.replace(/\s*\n\s*/g, " ").replace(/\*\//g, "* /");

/**
 * The test's text. Each Intent is sent as the checker sent it and must seal or be refused as it
 * was. The checker owns its clock and workerd does not let a test set Date.now(), so a clock step
 * of Δ ms is replayed by moving every pending wake time Δ back (wake times stay in the same order
 * and at the same distance from the Attractor's now as in the checker) and delivering the alarm
 * until nothing is due. The property's query must then return no rows: while the law has the
 * fault it returns the rows the checker printed, and once the fault is fixed the test passes.
 */
export function emitTest({ result, property }: Emittable, source: EmitSource): string {
  const { binding } = source;
  const body: string[] = [];
  let clock = source.start;
  let clockSteps = false;
  let settles = false;
  for (const [i, step] of result.counterexample.steps.entries()) {
    body.push(`  // ${i + 1}. ${comment(step.action)} → ${comment(step.outcome)}`);
    if (step.intent) body.push(`  await send(${JSON.stringify(step.intent)}, ${step.outcome.startsWith("sealed")});`);
    else if (step.action.startsWith(SETTLE_ACTION)) {
      body.push(`  await settle();`);
      settles = true;
    } else body.push(`  await advance(${step.now - clock});`);
    clockSteps ||= !step.intent;
    clock = step.now;
  }
  // Only what the steps use: the test is read, and linted, as the user's own.
  const imports = clockSteps ? "env, runDurableObjectAlarm, runInDurableObject" : "env, runInDurableObject";
  const limit = clockSteps ? "\n/** Alarms delivered at most per clock step: a wake that keeps failing is retried later, not forever. */\nconst MAX_ALARMS = 100;" : "";
  const advance = `
  // The checker's clock step: every pending wake time moves ms closer, then the due entries wake.
  const advance = async (ms: number) => {
    await sql("UPDATE _noema_cryostasis SET wake_at = wake_at - ?", ms);
    for (let alarms = 0; (await sql("SELECT 1 FROM _noema_cryostasis WHERE wake_at <= ?", Date.now())).length > 0; alarms++) {
      if (alarms === MAX_ALARMS) throw new Error(\`frozen Intents still due after \${MAX_ALARMS} alarms\`);
      await runDurableObjectAlarm(stub);
    }
  };`;
  const settle = `
  // The clock passes every wake time: to the next one, again and again, until nothing is frozen.
  const settle = async () => {
    for (let steps = 0; steps < MAX_ALARMS; steps++) {
      const [next] = await sql<{ at: number | null }>("SELECT MIN(wake_at) AS at FROM _noema_cryostasis");
      if (next?.at === null || next?.at === undefined) return;
      await advance(Math.max(0, next.at - Date.now()));
    }
    throw new Error(\`frozen Intents still pending after \${MAX_ALARMS} clock steps\`);
  };`;
  return `// Written by \`noema check --emit-test\` from ${source.module}: the shortest counterexample to
// ${result.name} (v${result.version}), replayed against the real Attractor in workerd. It fails while
// the law has the fault; once the fault is fixed it passes and guards against its return.
// The checker found: ${comment(result.counterexample.failure)}
import { ${imports} } from "cloudflare:test";
import { expect, test } from "vitest";

/** ${comment(property.description ?? property.name)}: the rows that break it. */
const PROPERTY = ${quote(property.sql)};${limit}

test(${JSON.stringify(`${result.name} (v${result.version}) holds after the counterexample noema check found`)}, async () => {
  const stub = env.${binding}.getByName(\`noema-check-\${crypto.randomUUID()}\`);
  const sql = <T extends Record<string, SqlStorageValue>>(query: string, ...params: SqlStorageValue[]) =>
    runInDurableObject(stub, (_, state) => state.storage.sql.exec<T>(query, ...params).toArray());
  const send = async (intent: unknown, sealed: boolean) => {
    const seal = await stub.sedimentation(intent);
    expect(seal.success, JSON.stringify(seal)).toBe(sealed);
  };${clockSteps ? advance : ""}${settles ? settle : ""}

${body.join("\n")}

  expect(await sql(PROPERTY)).toEqual([]);
});
`;
}
