// The testing kit: Worlds of real Attractors inside workerd tests (`@cloudflare/vitest-plugin`),
// started on an older law and upgraded, with a clock the test moves. See docs/testing.md.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { buildIntent, type Intent, type ReasonKind, type RefusalSeal, type Row, type RowOf, type Seal, type SqlValue, type StepBuilder, type SuccessSeal, type Vocabulary } from "@noema/core";
import type { Attractor } from "../attractor.js";
import { type UnderTest, worldsUnderTest } from "../under-test.js";

/** The vocabulary an Attractor class's law declares last: the law's own, or its lineage's newest. */
type LatestVocabulary<A> = A extends Attractor<infer _Env, infer L> ? (L extends Vocabulary ? L : L extends { latest: infer V extends Vocabulary } ? V : Vocabulary) : Vocabulary;
type TablesOf<A> = LatestVocabulary<A>["nomos"]["tables"];
type OperationsOf<A> = LatestVocabulary<A>["operations"];

/** An Intent, or a build function run against the law the World holds now (no law hash in the test). */
export type IntentInput<A extends Attractor = Attractor> = Intent | ((step: StepBuilder<OperationsOf<A>>) => unknown);

/** Options of `testWorld`. */
export interface TestWorldOptions {
  /** Start the World on this version of its lineage; `upgrade()` moves it on. Default: the latest. */
  version?: number;
}

/** A World of an Attractor class under test: send Intents, read its tables, move its clock, upgrade its law. */
export interface TestWorld<A extends Attractor = Attractor> {
  /** The World's Durable Object stub, for any other RPC. */
  readonly stub: DurableObjectStub<A>;
  /** Sediments the Intent and returns the Seal, a success or a refusal. */
  sedimentation(intent: IntentInput<A>): Promise<Seal>;
  /** Sediments the Intent; throws, naming the refusal's reason, unless it was sealed. */
  expectSealed(intent: IntentInput<A>): Promise<SuccessSeal>;
  /** Sediments the Intent; throws unless it was refused (with a reason of `kind`, when given). */
  expectRefused(intent: IntentInput<A>, kind?: ReasonKind): Promise<RefusalSeal>;
  /**
   * Moves the Attractor's clock `ms` forward (Seal times, freeze and wake times, grace periods,
   * `schedule()`) and delivers the alarm until nothing is due, as workerd would.
   */
  advance(ms: number): Promise<void>;
  /** The Attractor's clock: `Date.now()` plus every `advance` so far. */
  now(): number;
  /** Every row of a table of the law, as stored. */
  rows<T extends keyof TablesOf<A> & string>(table: T): Promise<RowOf<TablesOf<A>[T]>[]>;
  /** The rows of a read (SELECT, WITH, PRAGMA or EXPLAIN) run in the World's storage. */
  query<R extends object = Row>(sql: string, ...params: SqlValue[]): Promise<R[]>;
  /**
   * Restarts the World under the latest law (or `version`), as a deployment would: the next
   * request starts it and migrates (a failed migration shows in `stub.nomos()`). The clock stays moved.
   */
  upgrade(version?: number): Promise<void>;
}

/** Alarm runs `advance` delivers at most: each wakes a batch, so this bounds a runaway loop only. */
const MAX_ALARM_RUNS = 1000;
const READ = /^\s*(select|with|pragma|explain)\b/i;

/**
 * A World of an Attractor class bound in the test Worker. Call it before anything else touches
 * the World: its options apply when the World starts.
 *
 *     const world = testWorld(env.COUNTER_ATTRACTOR, "apples", { version: 1 });
 *     await world.expectSealed((s) => s.add({ amount: 1 }));
 *     await world.upgrade(); // migrates to the latest law
 */
export function testWorld<A extends Attractor>(namespace: DurableObjectNamespace<A>, name: string, options: TestWorldOptions = {}): TestWorld<A> {
  const key = namespace.idFromName(name).toString();
  const state: UnderTest = worldsUnderTest.get(key) ?? { version: undefined, offset: 0 };
  if (options.version !== undefined) {
    if (!(Number.isInteger(options.version) && options.version >= 1)) throw new TypeError(`testWorld: version must be a whole number from 1, got ${options.version}`);
    state.version = options.version;
  }
  worldsUnderTest.set(key, state);
  const stub = namespace.getByName(name) as DurableObjectStub<A>;
  // RPC method types of a generic stub are not resolvable here; the Attractor's are fixed.
  const rpc = stub as unknown as Pick<Attractor, "sedimentation">;

  /** The held law of the running instance; starts it, and refuses one that started before testWorld. */
  const held = async (): Promise<Vocabulary> => {
    await runInDurableObject(stub, () => undefined);
    if (!state.held) throw new Error(`testWorld: ${name} started before testWorld() was called for it; call testWorld first`);
    return state.held();
  };

  const intentOf = async (input: IntentInput<A>): Promise<Intent> => (typeof input === "function" ? buildIntent(await held(), input as (step: StepBuilder<Vocabulary["operations"]>) => unknown) : input);

  const sedimentation = async (input: IntentInput<A>): Promise<Seal> => rpc.sedimentation(await intentOf(input));

  return {
    stub,
    sedimentation,
    async expectSealed(input) {
      const seal = await sedimentation(input);
      if (!seal.success) throw new Error(`expected a Seal, got a refusal (${seal.reason.kind}): ${seal.reason.message}`);
      return seal;
    },
    async expectRefused(input, kind) {
      const seal = await sedimentation(input);
      if (seal.success) throw new Error(`expected a refusal${kind ? ` (${kind})` : ""}, got sediment ${seal.sedimentId}`);
      if (kind !== undefined && seal.reason.kind !== kind) throw new Error(`expected a refusal (${kind}), got one (${seal.reason.kind}): ${seal.reason.message}`);
      return seal;
    },
    async advance(ms) {
      if (!(Number.isFinite(ms) && ms >= 0)) throw new TypeError(`advance: ms must be zero or more, got ${ms}`);
      await held();
      state.offset += ms;
      // The first run re-arms under the moved clock; then each run whose alarm is due in real time.
      for (let runs = 0; runs < MAX_ALARM_RUNS; runs++) {
        const at = await runInDurableObject(stub, (_, ctx) => ctx.storage.getAlarm());
        if (at === null || (runs > 0 && at > Date.now())) return;
        await runDurableObjectAlarm(stub);
      }
      throw new Error(`advance: ${name} still had alarms due after ${MAX_ALARM_RUNS} runs`);
    },
    now: () => Date.now() + state.offset,
    async rows<T extends keyof TablesOf<A> & string>(table: T) {
      const law = await held();
      // Checked against the law held, so the name is a declared table (and safe to quote).
      if (!Object.hasOwn(law.nomos.tables, table)) throw new Error(`${table} is not a table of ${law.nomos.name} v${law.nomos.version}`);
      const rows = await runInDurableObject(stub, (_, ctx) => ctx.storage.sql.exec(`SELECT * FROM "${table}"`).toArray());
      return rows as RowOf<TablesOf<A>[T]>[];
    },
    async query<R extends object = Row>(sql: string, ...params: SqlValue[]) {
      if (!READ.test(sql)) throw new Error(`query runs reads only (SELECT, WITH, PRAGMA, EXPLAIN); send changes as Intents: ${sql}`);
      return runInDurableObject(stub, (_, ctx) => ctx.storage.sql.exec(sql, ...params).toArray()) as Promise<R[]>;
    },
    async upgrade(version) {
      await held();
      state.version = version;
      await evictDurableObject(stub);
    },
  };
}

