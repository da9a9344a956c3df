import { z } from "zod";
import { defineNomos, defineVocabulary, integer, operation, sql, text } from "../src/index.js";

/**
 * A tiny ledger, written from the public API alone: the core must know nothing
 * about any application, so its tests use a vocabulary of their own.
 */
export const ledgerNomos = defineNomos({
  name: "ledger",
  version: 1,
  tables: {
    accounts: {
      columns: {
        id: text().primaryKey(),
        owner: text().notNull(),
        balance: integer().notNull().default(0).check("balance >= 0", "an account cannot be overdrawn"),
        currency: text().notNull().$type<"EUR" | "USD">().check("currency IN ('EUR', 'USD')", "currency must be EUR or USD"),
      },
    },
    transfers: {
      columns: {
        id: integer().primaryKey(),
        from_account: text().notNull(),
        to_account: text().notNull(),
        amount: integer().notNull().check("amount > 0", "a transfer moves at least one unit"),
        memo: text(),
        at: integer().notNull(),
      },
      checks: { transfers_distinct_accounts: { sql: "from_account <> to_account", message: "an account cannot pay itself" } },
      indexes: { transfers_by_from: { columns: ["from_account", "at"] } },
    },
  },
  invariants: {
    transfers_between_known_accounts: {
      violations: `SELECT t.id FROM transfers t
        WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.from_account)
           OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.to_account)`,
      message: "every transfer names two existing accounts",
    },
  },
});

const AccountId = z.string().regex(/^[a-z0-9-]{1,32}$/, "must be 1–32 characters of a–z, 0–9 or '-'");
const Amount = z.number().int("must be a whole number").min(1);

export const ledger = defineVocabulary(ledgerNomos, {
  openAccount: operation({
    description: "Opens an empty account.",
    // `owner` is deliberately unbounded here, so the Intent-wide string limit is what stops a long one.
    args: z.object({ accountId: AccountId, owner: z.string().min(1), currency: z.enum(["EUR", "USD"]).default("EUR") }),
    output: z.object({ accountId: z.string() }),
    statements: ({ arg }) => ({
      account: sql`INSERT INTO accounts (id, owner, balance, currency) VALUES (${arg.accountId}, ${arg.owner}, 0, ${arg.currency}) RETURNING id`,
    }),
    result: (rows) => ({ accountId: String(rows.account[0]?.id) }),
  }),

  deposit: operation({
    description: "Adds money to an account.",
    args: z.object({ accountId: AccountId, amount: Amount }),
    output: z.object({ balance: z.number() }),
    statements: ({ arg }) => ({
      credit: sql`UPDATE accounts SET balance = balance + ${arg.amount} WHERE id = ${arg.accountId} RETURNING balance`.expect({
        rows: 1,
        kind: "not_found",
        refusal: (a) => `account ${a.accountId} does not exist`,
      }),
    }),
    result: (rows) => ({ balance: Number(rows.credit[0]?.balance) }),
  }),

  transfer: operation({
    description: "Moves money between two accounts and records the transfer.",
    args: z.object({ from: AccountId, to: AccountId, amount: Amount, memo: z.string().max(140).optional() }),
    output: z.object({ transferId: z.number(), fromBalance: z.number() }),
    statements: ({ arg, ctx }) => ({
      debit: sql`UPDATE accounts SET balance = balance - ${arg.amount} WHERE id = ${arg.from} RETURNING balance`.expect({
        rows: 1,
        kind: "not_found",
        refusal: (a) => `account ${a.from} does not exist`,
      }),
      credit: sql`UPDATE accounts SET balance = balance + ${arg.amount} WHERE id = ${arg.to}`,
      transfer: sql`INSERT INTO transfers (from_account, to_account, amount, memo, at) VALUES (${arg.from}, ${arg.to}, ${arg.amount}, ${arg.memo}, ${ctx.now}) RETURNING id`,
    }),
    result: (rows) => ({ transferId: Number(rows.transfer[0]?.id), fromBalance: Number(rows.debit[0]?.balance) }),
  }),
});
