import { z } from "zod";
import { describe, expect, it } from "vitest";
import { buildIntent, defineVocabulary, operation, sql, VocabularyDefinitionError } from "../src/index.js";
import { type Row, type SqlValue } from "../src/index.js";
import { intentSieve, operationHash } from "../src/runtime.js";
import { interpret } from "../src/interpretation/sqlite.js";
import { Refusal } from "../src/refusal/index.js";
import { ledgerNomos } from "./ledger.js";

const accountExists = sql`SELECT id FROM accounts WHERE id = ${{ kind: "arg", name: "accountId" }}`.expect({
  rows: 1,
  kind: "not_found",
  refusal: (a: { accountId: string }) => `account ${a.accountId} does not exist`,
});

/** A withdrawal whose update finds no row either when the account is missing or when it holds too little. */
const withdraw = (cause?: typeof accountExists) =>
  operation({
    description: "Takes money out of an account.",
    args: z.object({ accountId: z.string(), amount: z.number().int().min(1) }),
    output: z.object({ balance: z.number() }),
    statements: ({ arg }) => ({
      debit: sql`UPDATE accounts SET balance = balance - ${arg.amount} WHERE id = ${arg.accountId} AND balance >= ${arg.amount} RETURNING balance`.expect({
        rows: 1,
        refusal: (a) => `account ${a.accountId} holds less than ${a.amount}`,
        ...(cause ? { cause } : {}),
      }),
    }),
    result: (rows) => ({ balance: Number(rows.debit[0]?.balance) }),
  });

const withCause = defineVocabulary(ledgerNomos, { withdraw: withdraw(accountExists) });
const without = defineVocabulary(ledgerNomos, { withdraw: withdraw() });
const intent = buildIntent(withCause, (s) => void s.withdraw({ accountId: "alice", amount: 5 }));

/** An executor that answers each statement by its first words, recording what ran (the invariant check: not violated). */
function db(answers: { update: Row[]; select: Row[] }) {
  const ran: { sql: string; params: readonly SqlValue[] }[] = [];
  return {
    ran,
    exec: (text: string, params: readonly SqlValue[]) => {
      ran.push({ sql: text, params });
      return text.startsWith("UPDATE") ? answers.update : text.startsWith("SELECT id") ? answers.select : text.startsWith("SELECT EXISTS") ? [{ v0: 0 }] : [];
    },
  };
}
const ctx = { now: 1_700_000_000_000, sedimentId: 1 };
const refusalOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof Refusal) return error.reason;
    throw error;
  }
  throw new Error("expected a Refusal");
};

describe("an expectation's cause", () => {
  it("runs nothing more when the statement gets its rows", () => {
    const d = db({ update: [{ balance: 1 }], select: [] });
    expect(interpret(withCause, intent, d, ctx)).toEqual([{ balance: 1 }]);
    // The update and the invariant: the cause is not looked up on the way to a Seal.
    expect(d.ran.map((r) => r.sql.split(" ")[0])).toEqual(["UPDATE", "SELECT"]);
  });

  it("gives its own refusal when it fails too, and the statement's when it holds", () => {
    const missing = db({ update: [], select: [] });
    expect(refusalOf(() => interpret(withCause, intent, missing, ctx))).toEqual({ kind: "not_found", message: "account alice does not exist", step: 0, op: "withdraw" });
    expect(missing.ran[1]).toEqual({ sql: accountExists.sql, params: ["alice"] });
    const poor = db({ update: [], select: [{ id: "alice" }] });
    expect(refusalOf(() => interpret(withCause, intent, poor, ctx))).toEqual({ kind: "expectation", message: "account alice holds less than 5", step: 0, op: "withdraw" });
  });

  it("is part of the operation hash but adds nothing to the Sieve's keys when the statement reads the same", () => {
    expect(operationHash(withCause.operations.withdraw)).not.toBe(operationHash(without.operations.withdraw));
    const plain = buildIntent(without, (s) => void s.withdraw({ accountId: "alice", amount: 5 }));
    expect(Object.keys(intentSieve(withCause, intent))).toEqual(Object.keys(intentSieve(without, plain)));
  });

  it("must be a read that expects rows and has no cause of its own", () => {
    const bad = (cause: unknown) => () => defineVocabulary(ledgerNomos, { withdraw: withdraw(cause as typeof accountExists) });
    expect(bad(sql`DELETE FROM accounts WHERE id = ${{ kind: "arg", name: "accountId" }} RETURNING id`.expect({ rows: 1, refusal: () => "x" }))).toThrow(VocabularyDefinitionError);
    expect(bad(sql`SELECT id FROM accounts`)).toThrow(/a SELECT with an expectation and no cause of its own/);
    expect(bad(sql`SELECT id FROM accounts`.expect({ rows: 1, refusal: () => "x", cause: accountExists }))).toThrow(VocabularyDefinitionError);
    expect(bad(accountExists)).not.toThrow();
  });
});
