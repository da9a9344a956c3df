// `noema check --emit-test`: a counterexample as a regression test of the law under test, run in workerd
// with the testing kit (`@noema/cloudflare/testing`).
import type { CheckResult, Counterexample, CounterexampleStep, LivenessProperty, SafetyProperty } from "@noema/core/check";

/** The step the checker adds after a liveness counterexample's path (see the core's explore.ts). */
const SETTLE_ACTION = "advance the clock past every wake time";
/** The parameter by which a property reads the clock (see the core's explore.ts). */
const NOW = /:now\b/;

/** What `env.<binding>` accepts as it is written in the test. */
export const BINDING_NAME = /^[A-Za-z_$][\w$]*$/;

export interface EmitSource {
  /** The module as the user named it, for the test's header. */
  module: string;
  /** The module as the test imports it: relative to the test's folder, `.ts` written `.js`. */
  specifier: string;
  /** The export that holds the check definition (or the bare law), `default` for the default export. */
  exportName: string;
  /** False when the export is a law without a check definition: every action is then an operation. */
  definition: boolean;
  /** The Durable Object binding of the Attractor that runs the law in the test Worker: an identifier (see BINDING_NAME). */
  binding: string;
  /** The clock of the checker's empty state: each clock step is replayed as its difference from the previous step. */
  start: number;
}

/** How the test ends, after the counterexample's path under the version it failed in. */
type Ending =
  /** The queries must find nothing in the state the path reaches (liveness: after the clock passes every wake time). */
  | { kind: "state"; settle: boolean }
  /** The World is upgraded to the next version (its frozen Intents then woken, with `settle`), and the queries find nothing. */
  | { kind: "upgrade"; settle: boolean }
  /** After the upgrade, the last step's Intent, built against the version it failed in, seals; the queries find nothing. */
  | { kind: "reforge"; step: CounterexampleStep };

export interface Emittable {
  result: CheckResult & { counterexample: Counterexample };
  ending: Ending;
  /** The queries that must return no rows at the end. */
  properties: readonly SafetyProperty[];
}

/** What the emitter reads of a check definition: its queries. */
export interface Queries {
  properties?: readonly SafetyProperty[];
  liveness?: readonly LivenessProperty[];
}

const applies = (p: { versions?: readonly number[] }, version: number) => !p.versions || p.versions.includes(version);

/** What a failed result asserts as a test, or why it cannot. */
function emittableOf(result: CheckResult & { counterexample: Counterexample }, definition: Queries): Emittable | string {
  const { kind, version, counterexample } = result;
  const named = (pool: readonly SafetyProperty[] | undefined, prefix: string) => (pool ?? []).find((p) => `${prefix}:${p.name}` === result.name);
  const next = (pool: readonly SafetyProperty[] | undefined) => (pool ?? []).filter((p) => applies(p, version + 1));
  const last = counterexample.steps[counterexample.steps.length - 1];
  if (kind === "safety" || kind === "liveness") {
    const property = named(kind === "safety" ? definition.properties : definition.liveness, kind);
    return property ? { result, ending: { kind: "state", settle: kind === "liveness" }, properties: [property] } : `${result.name} names no property of the definition`;
  }
  if (kind === "migration") return { result, ending: { kind: "upgrade", settle: false }, properties: next(definition.properties) };
  if (kind === "cryostasis" && result.name === "cryostasis" && /^after the upgrade to v\d+ and the clock past every wake time/.test(counterexample.failure)) {
    return { result, ending: { kind: "upgrade", settle: true }, properties: next(definition.liveness) };
  }
  if (kind === "reforge" && last?.intent && last.name !== undefined && (last.outcome.startsWith("refused") || / is violated by /.test(counterexample.failure))) {
    return { result, ending: { kind: "reforge", step: last }, properties: next(definition.properties) };
  }
  return `${result.name} is not a query over the state a test can reach`;
}

/** The shortest failed check a test can assert; undefined when none (`why` says why, when something failed). */
export function emittable(results: readonly CheckResult[], definition: Queries): { found?: Emittable; why?: string } {
  let found: Emittable | undefined;
  let why: string | undefined;
  for (const result of results) {
    const { counterexample } = result;
    if (result.status !== "failed" || !counterexample) continue;
    const e = emittableOf({ ...result, counterexample }, definition);
    if (typeof e === "string") why ??= e;
    else if (!found || counterexample.steps.length < found.result.counterexample.steps.length) found = e;
  }
  return found ? { found } : why ? { why } : {};
}

/** A template literal holding `text` as it is. */
const quote = (text: string) => `\`${text.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${")}\``;
/** Text inside a one-line comment: on one line, and never closing a block comment. */
const comment = (text: string) => text.replace(/\s*\n\s*/g, " ").replace(/\*\//g, "* /");

/**
 * The test's text. Each Intent is built by the check definition's action, with the arguments the
 * checker used, against the law of the World under test (never a stamped hash), and sent without
 * expecting the outcome it had under the fault; clock steps move the Attractor's clock by the
 * checker's own steps. At the end the property's query must return no rows: while the law has the
 * fault it returns the rows the checker printed, and once the fault is fixed the test passes.
 */
export function emitTest({ result, ending, properties }: Emittable, source: EmitSource): string {
  const version = result.version;
  const body: string[] = [];
  const path = ending.kind === "reforge" ? result.counterexample.steps.slice(0, -1) : result.counterexample.steps;
  let clock = source.start;
  let settles = false;
  for (const [i, step] of path.entries()) {
    const line = `  // ${i + 1}. ${comment(step.action)} → ${comment(step.outcome)}`;
    if (step.action.startsWith("migrate to v")) {
      body.push(line, `  await world.upgrade(${version + 1});`);
    } else if (step.intent) {
      body.push(line, `  await world.sedimentation(act(${JSON.stringify(step.name ?? step.action.split(" ")[0])}, ${JSON.stringify(step.args ?? {})}));`);
    } else if (step.action.startsWith(SETTLE_ACTION)) {
      body.push(line, "  await settle();");
      settles = true;
    } else {
      body.push(line, `  await advance(${step.now - clock});`);
    }
    clock = step.now;
  }
  if (ending.kind === "upgrade" && !path.some((s) => s.action.startsWith("migrate to v"))) body.push(`  await world.upgrade(${version + 1});`);
  if (ending.kind === "upgrade" && ending.settle && !settles) {
    body.push("  await settle();");
    settles = true;
  }
  const reforged = ending.kind === "reforge";
  if (reforged) {
    const { step } = ending;
    body.push(
      `  // ${path.length + 1}. ${comment(step.action)}: a client still on v${version} → ${comment(step.outcome)}`,
      `  const seal = await world.sedimentation(buildIntent(lawAt(${version}), act(${JSON.stringify(step.name)}, ${JSON.stringify(step.args ?? {})})));`,
      "  expect(seal.success, JSON.stringify(seal)).toBe(true);",
    );
  }
  const readsNow = properties.some((p) => NOW.test(p.sql));
  const clockSteps = path.some((s) => !s.intent && !s.action.startsWith("migrate to v"));
  const tracksClock = settles || readsNow;
  const names = properties.map((_, i) => (properties.length === 1 ? "PROPERTY" : `PROPERTY_${i + 1}`));
  const queries = properties.map((p, i) => `/** ${comment(p.description ?? p.name)}: the rows that break it. */\nconst ${names[i]} = ${quote(p.sql)};`);
  for (const name of names) body.push(`  expect(await query(${name})).toEqual([]);`);

  const imported = source.exportName === "default" ? `definition` : `{ ${source.exportName === "definition" ? "definition" : `${source.exportName} as definition`} }`;
  const helpers: string[] = [];
  helpers.push(`  const world = testWorld(env.${source.binding}, \`noema-check-\${crypto.randomUUID()}\`, { version: ${version} });`);
  if (tracksClock) {
    helpers.push(`  // The Attractor's clock: the test's, plus what the test advanced it by.
  let advanced = 0;
  const now = () => Date.now() + advanced;`);
  }
  if (clockSteps || settles) {
    helpers.push(`  const advance = async (ms: number) => {
    ${tracksClock ? "advanced += ms;\n    " : ""}await world.advance(ms);
  };`);
  }
  if (settles) {
    helpers.push(`  // The clock passes every wake time: to the next one, again and again, until nothing is frozen.
  const settle = async () => {
    for (let steps = 0; steps < MAX_CLOCK_STEPS; steps++) {
      const [next] = await world.query("SELECT MIN(wake_at) AS at FROM _noema_cryostasis");
      if (next?.at === null || next?.at === undefined) return;
      await advance(Math.max(1, Number(next.at) - now()));
    }
    throw new Error(\`frozen Intents still pending after \${MAX_CLOCK_STEPS} clock steps\`);
  };`);
  }
  helpers.push(
    readsNow ? "  // A property reads the clock as :now.\n  const query = (sql: string) => world.query(sql.replace(/:now\\b/g, String(now())));" : "  const query = (sql: string) => world.query(sql);",
  );

  const lawOf = definitionLaw(source);
  return `// Written by \`noema check --emit-test\` from ${source.module}: the shortest counterexample to
// ${result.name} (v${version}), as a regression test of the law under test. Its Intents are built
// by the check definition's actions against that law, in workerd with the testing kit: it fails
// while the law has the fault, and passes once the fault is fixed.
// The checker found: ${comment(result.counterexample.failure)}
import { env } from "cloudflare:test";
import { testWorld } from "@noema/cloudflare/testing";
import { ${reforged ? "buildIntent, " : ""}type OperationSpec, type StepBuilder${reforged ? ", type Vocabulary" : ""} } from "@noema/core";
import type { ActionArgs } from "@noema/core/check";
import { expect, test } from "vitest";
import ${imported} from ${JSON.stringify(source.specifier)};

${queries.join("\n")}${settles ? "\n/** Clock steps at most while the frozen Intents settle: one that keeps waking others would never end. */\nconst MAX_CLOCK_STEPS = 64;" : ""}

type Step = StepBuilder<Record<string, OperationSpec>>;
type Action = { op: string; build?: (s: Step, args: ActionArgs) => void };
const actions = (${source.definition ? "definition.actions ?? {}" : "{}"}) as unknown as Readonly<Record<string, Action>>;
/**
 * An action of the check definition with the checker's arguments: a build function against the World's law.
 * Generic in the builder: it takes the type of whichever law version the World holds, which only the run knows.
 */
const act = <S>(name: string, args: ActionArgs) => (builder: S) => {
  const s = builder as unknown as Step;
  const action = actions[name] ?? { op: name };
  if (action.build) action.build(s, args);
  else s[action.op]!(args);
};${reforged ? `\n/** The law at a version: an older client builds its Intents against it. */\nconst lawAt = (version: number): Vocabulary => {\n  const law = ${lawOf} as Vocabulary | { upTo(v: number): { latest: Vocabulary } };\n  return "upTo" in law ? law.upTo(version).latest : law;\n};` : ""}

test(${JSON.stringify(`${result.name} (v${version}) holds after the counterexample noema check found`)}, async () => {
${helpers.join("\n")}

${body.join("\n")}
});
`;
}

const definitionLaw = (source: EmitSource) => (source.definition ? "definition.law" : "definition");
