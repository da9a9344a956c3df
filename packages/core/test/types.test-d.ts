import { expectTypeOf } from "vitest";
import { z } from "zod";
import { operation, type OutputRef, type OutputRefs, type Row, sql, type StepBuilder } from "../src/index.js";
import { ledger } from "./ledger.js";

/*
 * Type-level tests of the authoring API. expectTypeOf and @ts-expect-error do nothing at run time,
 * so inside an it() they would pass whatever the type: they live here instead, in a file vitest
 * does not run (it collects *.test.ts) and `npm run typecheck` checks (`tsc -p packages/core`,
 * whose tsconfig includes test/). A wrong type here fails the type-check.
 */

const AT = 1_800_000_000_000;

// intent.test.ts › operation: holes and results are typed by the operation's arguments and statement names.
const base = {
  description: "typed holes",
  args: z.object({ id: z.string(), flag: z.boolean() }),
  output: z.object({}),
};
operation({
  ...base,
  // @ts-expect-error a boolean argument cannot be bound
  statements: ({ arg }) => ({ s: sql`SELECT ${arg.flag}` }),
  result: () => ({}),
});
operation({
  ...base,
  statements: ({ arg }) => ({ s: sql`SELECT ${arg.id}`.expect({ rows: 1, refusal: (a) => a.id }) }),
  result: (rows) => {
    expectTypeOf(rows.s).toEqualTypeOf<Row[]>();
    // @ts-expect-error there is no statement `t`
    void rows.t;
    return {};
  },
});

// intent.test.ts › buildIntent: argument and output types are inferred from the vocabulary.
export const infersArgumentsAndOutputs = (s: StepBuilder<typeof ledger.operations>) => {
  const opened = s.openAccount({ accountId: "a", owner: "A" });
  expectTypeOf(opened).toEqualTypeOf<OutputRefs<{ accountId: string }>>();
  const { transferId } = s.transfer({ from: opened.accountId, to: "b", amount: 1 });
  expectTypeOf(transferId).toEqualTypeOf<OutputRef<number>>();
  // @ts-expect-error amount is a number
  s.deposit({ accountId: "a", amount: "5" });
  // @ts-expect-error owner is required
  s.openAccount({ accountId: "a" });
  // @ts-expect-error currency is EUR or USD
  s.openAccount({ accountId: "a", owner: "A", currency: "GBP" });
  // @ts-expect-error the vocabulary has no such operation
  s.withdraw({ accountId: "a", amount: 1 });
  // @ts-expect-error a number output cannot feed a string argument
  s.deposit({ accountId: transferId, amount: 1 });
};

// cryostasis.test.ts › $freeze and $cancel: built-in outputs are typed, a frozen body has no Refs or built-ins.
export const freezeIsTyped = (s: StepBuilder<typeof ledger.operations>) => {
  const opened = s.openAccount({ accountId: "a", owner: "A" });
  const frozen = s.$freeze({ delaySeconds: 60, key: opened.accountId }, (f) => {
    expectTypeOf(f.deposit({ accountId: opened.accountId, amount: 1 })).toEqualTypeOf<void>();
    // @ts-expect-error a frozen Intent cannot itself freeze
    f.$freeze({ at: AT }, () => {});
    // @ts-expect-error a frozen Intent cannot cancel
    f.$cancel({ key: "k" });
    // @ts-expect-error amount is a number
    f.deposit({ accountId: "a", amount: "1" });
  });
  expectTypeOf(frozen).toEqualTypeOf<OutputRefs<{ cryoId: number; wakeAt: number }>>();
  expectTypeOf(s.$cancel({ key: "k" }).cancelled).toEqualTypeOf<OutputRef<boolean>>();
  s.deposit({ accountId: "a", amount: frozen.wakeAt });
  // @ts-expect-error a key is a string
  s.$cancel({ key: frozen.cryoId });
  // @ts-expect-error a wake time is a number
  s.$freeze({ at: opened.accountId }, (f) => f.deposit({ accountId: "a", amount: 1 }));
};
