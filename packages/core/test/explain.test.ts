import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildIntent, defineVocabulary, explain, operation, parseIntent, sql } from "../src/index.js";
import { intentSieve } from "../src/runtime.js";
import { constraintReason } from "../src/interpretation/sqlite.js";
import { countPlaceholders } from "../src/intent/vocabulary.js";
import { isRef } from "../src/intent/wire.js";
import { ledger, ledgerNomos } from "./ledger.js";

const ctx = { now: 1_700_000_000_000, sedimentId: 7 };
const ref = (step: number, output: string) => ({ $ref: { step, output } });
const deepFreeze = <T>(value: T): T => {
  if (typeof value === "object" && value !== null) for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
};

const payRent = buildIntent(ledger, (s) => {
  const alice = s.openAccount({ accountId: "alice", owner: "Alice" });
  const bob = s.openAccount({ accountId: "bob", owner: "Bob", currency: "USD" });
  s.deposit({ accountId: alice.accountId, amount: 100 });
  s.transfer({ from: alice.accountId, to: bob.accountId, amount: 30, memo: "rent" });
});

/** What explain gives for payRent: the exact statements, Refs standing for earlier outputs. */
const payRentExplained = {
  steps: [
    {
      op: "openAccount",
      statements: [{ sql: "INSERT INTO accounts (id, owner, balance, currency) VALUES (?, ?, 0, ?) RETURNING id", params: ["alice", "Alice", "EUR"] }],
    },
    {
      op: "openAccount",
      statements: [{ sql: "INSERT INTO accounts (id, owner, balance, currency) VALUES (?, ?, 0, ?) RETURNING id", params: ["bob", "Bob", "USD"] }],
    },
    {
      op: "deposit",
      statements: [{ sql: "UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING balance", params: [100, ref(0, "accountId")] }],
    },
    {
      op: "transfer",
      statements: [
        { sql: "UPDATE accounts SET balance = balance - ? WHERE id = ? RETURNING balance", params: [30, ref(0, "accountId")] },
        { sql: "UPDATE accounts SET balance = balance + ? WHERE id = ?", params: [30, ref(1, "accountId")] },
        {
          sql: "INSERT INTO transfers (from_account, to_account, amount, memo, at) VALUES (?, ?, ?, ?, ?) RETURNING id",
          params: [ref(0, "accountId"), ref(1, "accountId"), 30, "rent", ctx.now],
        },
      ],
    },
  ],
  invariants: [{ name: "transfers_between_known_accounts", sql: ledgerNomos.invariants.transfers_between_known_accounts!.violations }],
  sieve: intentSieve(ledger, payRent),
  context: ctx,
};

describe("explain", () => {
  it("lists the exact sql.exec() sequence with its parameters, Refs standing for earlier outputs", () => {
    expect(explain(ledger, payRent, ctx)).toStrictEqual(payRentExplained);
  });

  it("binds absent optional arguments as NULL", () => {
    const intent = buildIntent(ledger, (s) => void s.transfer({ from: "a", to: "b", amount: 1 }));
    expect(explain(ledger, intent, ctx).steps[0]!.statements[2]!.params).toStrictEqual(["a", "b", 1, null, ctx.now]);
  });

  it("passes the time, sedimentId and step index each statement would see", () => {
    const clock = defineVocabulary(ledgerNomos, {
      stamp: operation({
        description: "Records when and where it ran.",
        args: z.object({}),
        output: z.object({}),
        statements: ({ ctx }) => ({ stamp: sql`SELECT ${ctx.now}, ${ctx.sedimentId}, ${ctx.step}` }),
        result: () => ({}),
      }),
    });
    const intent = buildIntent(clock, (s) => {
      s.stamp({});
      s.stamp({});
    });
    expect(explain(clock, intent, ctx).steps.map((s) => s.statements[0]!.params)).toEqual([
      [ctx.now, ctx.sedimentId, 0],
      [ctx.now, ctx.sedimentId, 1],
    ]);
  });

  it("runs nothing and leaves the Intent as it was", () => {
    // Deeply frozen: explain throws (modules are strict) if it writes to the Intent, and a second
    // explanation, made after the first, is still the exact one.
    const frozen = deepFreeze(JSON.parse(JSON.stringify(payRent)) as typeof payRent);
    expect(explain(ledger, frozen, ctx)).toStrictEqual(payRentExplained);
    expect(explain(ledger, frozen, ctx)).toStrictEqual(payRentExplained);
    expect(frozen).toStrictEqual(payRent);
  });

  it("binds as many values as each statement has placeholders, all of them values or Refs", () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant("deposit"), args: fc.record({ accountId: fc.constant("a"), amount: fc.integer({ min: 1 }) }) }),
      fc.record({
        op: fc.constant("transfer"),
        args: fc.record({ from: fc.constant("a"), to: fc.constant("b"), amount: fc.integer({ min: 1 }), memo: fc.string({ maxLength: 140 }) }, { requiredKeys: ["from", "to", "amount"] }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), (steps) => {
        const parsed = parseIntent(ledger, { v: 1, steps: [{ op: "openAccount", args: { accountId: "a", owner: "A" } }, ...steps] });
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
        for (const { statements } of explain(ledger, parsed.value, ctx).steps) {
          for (const { sql, params } of statements) {
            expect(params).toHaveLength(countPlaceholders(sql));
            for (const p of params) expect(p === null || ["string", "number"].includes(typeof p) || isRef(p)).toBe(true);
          }
        }
      }),
    );
  });
});

describe("constraintReason", () => {
  // The messages workerd's SQLite raises inside a Durable Object.
  it("turns a named CHECK failure into the Nomos's message", () => {
    expect(constraintReason(ledger, new Error("CHECK constraint failed: accounts_balance_check: SQLITE_CONSTRAINT"), 3, "transfer")).toStrictEqual({
      kind: "constraint",
      message: "an account cannot be overdrawn",
      rule: "accounts_balance_check",
      step: 3,
      op: "transfer",
    });
    expect(constraintReason(ledger, new Error("CHECK constraint failed: transfers_distinct_accounts"), 0, "transfer")?.message).toBe("an account cannot pay itself");
  });

  it("names the column of UNIQUE, PRIMARY KEY and NOT NULL failures", () => {
    const reason = (message: string) => constraintReason(ledger, new Error(message), 1, "openAccount");
    expect(reason("UNIQUE constraint failed: accounts.id: SQLITE_CONSTRAINT")).toMatchObject({ kind: "constraint", message: "accounts.id must be unique", rule: "accounts.id" });
    expect(reason("PRIMARY KEY constraint failed: accounts.id")).toMatchObject({ message: "accounts.id must be unique" });
    expect(reason("NOT NULL constraint failed: accounts.owner: SQLITE_CONSTRAINT")).toMatchObject({ message: "accounts.owner must not be null", rule: "accounts.owner" });
    expect(reason("UNIQUE constraint failed: holdings.account, holdings.asset: SQLITE_CONSTRAINT")).toMatchObject({
      message: "holdings.account, holdings.asset must be unique",
      rule: "holdings.account, holdings.asset",
    });
  });

  it("falls back to the constraint's name when the Nomos has no message for it", () => {
    expect(constraintReason(ledger, new Error("CHECK constraint failed: other_rule"), 0, "deposit")?.message).toBe("CHECK constraint other_rule failed");
  });

  it("reports a STRICT type mismatch as a constraint, without SQLite's error code", () => {
    expect(constraintReason(ledger, new Error("cannot store TEXT value in INTEGER column accounts.balance: SQLITE_CONSTRAINT_DATATYPE"), 2, "deposit")).toStrictEqual({
      kind: "constraint",
      message: "cannot store TEXT value in INTEGER column accounts.balance",
      step: 2,
      op: "deposit",
    });
  });

  it("returns null for errors that are bugs, not refusals", () => {
    expect(constraintReason(ledger, new Error('near "SELEC": syntax error: SQLITE_ERROR'), 0, "deposit")).toBeNull();
    expect(constraintReason(ledger, new Error("no such table: acounts"), 0, "deposit")).toBeNull();
    expect(constraintReason(ledger, "not an Error at all", 0, "deposit")).toBeNull();
  });
});

describe("explain with data references", () => {
  const vocab = defineVocabulary(ledgerNomos, {
    scaled: operation({
      description: "binds one Ref as is, one computed from a Ref, and a constant",
      args: z.object({ accountId: z.string(), amount: z.number(), label: z.string() }),
      output: z.object({ ok: z.boolean() }),
      statements: ({ arg, computed }) => ({
        credit: sql`UPDATE accounts SET balance = balance + ${computed((a) => a.amount * 100)} WHERE id = ${arg.accountId} AND owner = ${computed((a) => `owner:${a.label}`)}`,
      }),
      result: () => ({ ok: true }),
    }),
    source: operation({
      description: "provides outputs",
      args: z.object({}),
      output: z.object({ id: z.string(), n: z.number() }),
      statements: { one: sql`SELECT 1` },
      result: () => ({ id: "x", n: 1 }),
    }),
  });

  it("shows a Ref bound as is, marks values computed from Refs with exactly the Refs they read, and keeps constants", () => {
    const intent = buildIntent(vocab, (s) => {
      const src = s.source({});
      s.scaled({ accountId: src.id, amount: src.n, label: "fixed" });
    });
    const params = explain(vocab, intent, ctx).steps[1]!.statements[0]!.params;
    expect(params).toStrictEqual([{ $computedFrom: [ref(0, "n")] }, ref(0, "id"), "owner:fixed"]);
  });

  it("marks a computed value that fails on a Ref's stand-in as computed from it, and lets other failures through", () => {
    const failing = defineVocabulary(ledgerNomos, {
      ...vocab.operations,
      strict: operation({
        description: "computes from a number, failing on anything else",
        args: z.object({ n: z.number() }),
        output: z.object({}),
        statements: ({ computed }) => ({
          check: sql`SELECT ${computed((a) => {
            if (typeof a.n !== "number" || a.n < 0) throw new Error("n must be a non-negative number");
            return a.n.toFixed(0);
          })}`,
        }),
        result: () => ({}),
      }),
    });
    const fromRef = buildIntent(failing, (s) => void s.strict({ n: s.source({}).n }));
    expect(explain(failing, fromRef, ctx).steps[1]!.statements[0]!.params).toStrictEqual([{ $computedFrom: [ref(0, "n")] }]);
    expect(() => explain(failing, buildIntent(failing, (s) => void s.strict({ n: -1 })), ctx)).toThrow("n must be a non-negative number");
  });
});
