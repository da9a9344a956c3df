import { columnsOf, defineVocabulary, operation, sql } from "@noema/core";
import { z } from "zod";
import { ledgerNomos } from "./nomos.js";

const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1–64 characters of A–Z, a–z, 0–9, '.', '_', ':' or '-'");
const MAX_AMOUNT = 1_000_000_000_000;
const Amount = z.number().int("must be a whole number").min(1).max(MAX_AMOUNT);

const balance = z.object({ accountId: z.string(), balance: z.number() });
/** What a credit or debit reads back, typed from the Nomos: `{ id: string; balance: number }`. */
const BALANCE = columnsOf(ledgerNomos, "accounts", "id", "balance");
/** The row an expectation of one row guarantees. */
const balanceOf = (row: NonNullable<typeof BALANCE.row> | undefined) => {
  if (!row) throw new Error("the account's update returned no row");
  return { accountId: row.id, balance: row.balance };
};

const noSuchAccount = (accountId: string) => `account ${accountId} does not exist`;
/** A credit or debit updates one row, or names no account. The CHECK on `balance` refuses an overdraft. */
const accountMustExist = { rows: 1, kind: "not_found" } as const;

export const ledger = defineVocabulary(ledgerNomos, {
  open: operation({
    description: "Opens an empty account for a holder.",
    args: z.object({ holder: z.string().min(1).max(128) }),
    output: z.object({ accountId: z.string() }),
    statements: ({ arg, ctx, computed }) => ({
      // Deterministic: sedimentIds never repeat within an Attractor, so neither do these ids.
      account: sql`INSERT INTO accounts (id, holder, balance, opened_at) VALUES (${computed((_a, c) => `acct-${c.sedimentId}-${c.step}`)}, ${arg.holder}, 0, ${ctx.now}) RETURNING ${columnsOf(ledgerNomos, "accounts", "id")}`,
    }),
    result: (rows) => ({ accountId: rows.account[0]!.id }),
  }),

  deposit: operation({
    description: "Brings money into the ledger.",
    args: z.object({ accountId: Id, amount: Amount }),
    output: balance,
    statements: ({ arg, ctx }) => ({
      credit: sql`UPDATE accounts SET balance = balance + ${arg.amount} WHERE id = ${arg.accountId} RETURNING ${BALANCE}`.expect({
        ...accountMustExist,
        refusal: (a) => noSuchAccount(a.accountId),
      }),
      movement: sql`INSERT INTO movements (account_id, amount, transfer_id, at) VALUES (${arg.accountId}, ${arg.amount}, NULL, ${ctx.now})`,
    }),
    result: (rows) => balanceOf(rows.credit[0]),
  }),

  transfer: operation({
    description: "Moves money between two accounts; the payer's balance cannot go below zero.",
    args: z.object({ from: Id, to: Id, amount: Amount }),
    output: z.object({ transferId: z.string(), fromBalance: z.number(), toBalance: z.number() }),
    statements: ({ arg, ctx, computed }) => {
      const debit = computed((a) => -a.amount);
      const transferId = computed((_a, c) => `t-${c.sedimentId}-${c.step}`);
      return {
        debit: sql`UPDATE accounts SET balance = balance + ${debit} WHERE id = ${arg.from} RETURNING ${BALANCE}`.expect({ ...accountMustExist, refusal: (a) => noSuchAccount(a.from) }),
        credit: sql`UPDATE accounts SET balance = balance + ${arg.amount} WHERE id = ${arg.to} RETURNING ${BALANCE}`.expect({ ...accountMustExist, refusal: (a) => noSuchAccount(a.to) }),
        paid: sql`INSERT INTO movements (account_id, amount, transfer_id, at) VALUES (${arg.from}, ${debit}, ${transferId}, ${ctx.now})`,
        received: sql`INSERT INTO movements (account_id, amount, transfer_id, at) VALUES (${arg.to}, ${arg.amount}, ${transferId}, ${ctx.now})`,
      };
    },
    result: (rows, _a, c) => ({
      transferId: `t-${c.sedimentId}-${c.step}`,
      fromBalance: balanceOf(rows.debit[0]).balance,
      toBalance: balanceOf(rows.credit[0]).balance,
    }),
  }),

  post: operation({
    description: "Posts one leg of a hand-written transfer (a split, a fee). Legs sharing a transferId must net to zero by the end of the Intent.",
    args: z.object({
      transferId: Id,
      accountId: Id,
      amount: z.number().int("must be a whole number").min(-MAX_AMOUNT).max(MAX_AMOUNT).refine((n) => n !== 0, "must not be zero"),
    }),
    output: balance,
    statements: ({ arg, ctx }) => ({
      credit: sql`UPDATE accounts SET balance = balance + ${arg.amount} WHERE id = ${arg.accountId} RETURNING ${BALANCE}`.expect({
        ...accountMustExist,
        refusal: (a) => noSuchAccount(a.accountId),
      }),
      movement: sql`INSERT INTO movements (account_id, amount, transfer_id, at) VALUES (${arg.accountId}, ${arg.amount}, ${arg.transferId}, ${ctx.now})`,
    }),
    result: (rows) => balanceOf(rows.credit[0]),
  }),
});

export type LedgerVocabulary = typeof ledger;
