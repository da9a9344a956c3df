import { defineVocabulary, operation, type Row } from "@noema/core";
import { z } from "zod";
import { ledgerNomos } from "./nomos.js";

const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1–64 characters of A–Z, a–z, 0–9, '.', '_', ':' or '-'");
const MAX_AMOUNT = 1_000_000_000_000;
const Amount = z.number().int("must be a whole number").min(1).max(MAX_AMOUNT);

const balance = z.object({ accountId: z.string(), balance: z.number() });
const balanceOf = (row: Row | undefined) => ({ accountId: String(row?.id), balance: Number(row?.balance) });

/** Adds a signed amount to an account. The CHECK on `balance` refuses an overdraft; no row means no such account. */
const CREDIT = "UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING id, balance";
const MOVEMENT = "INSERT INTO movements (account_id, amount, transfer_id, at) VALUES (?, ?, ?, ?)";
const noSuchAccount = (accountId: string) => `account ${accountId} does not exist`;

export const ledger = defineVocabulary(ledgerNomos, {
  open: operation({
    description: "Opens an empty account for a holder.",
    args: z.object({ holder: z.string().min(1).max(128) }),
    output: z.object({ accountId: z.string() }),
    statements: [
      {
        sql: "INSERT INTO accounts (id, holder, balance, opened_at) VALUES (?, ?, 0, ?) RETURNING id",
        // Deterministic: sedimentIds never repeat within an Attractor, so neither do these ids.
        params: (a, c) => [`acct-${c.sedimentId}-${c.step}`, a.holder, c.now],
      },
    ],
    result: (rows) => ({ accountId: String(rows[0]![0]!.id) }),
  }),

  deposit: operation({
    description: "Brings money into the ledger.",
    args: z.object({ accountId: Id, amount: Amount }),
    output: balance,
    statements: [
      { sql: CREDIT, params: (a) => [a.amount, a.accountId], expect: { rows: 1, kind: "not_found", refusal: (a) => noSuchAccount(a.accountId) } },
      { sql: MOVEMENT, params: (a, c) => [a.accountId, a.amount, null, c.now] },
    ],
    result: (rows) => balanceOf(rows[0]![0]),
  }),

  transfer: operation({
    description: "Moves money between two accounts; the payer's balance cannot go below zero.",
    args: z.object({ from: Id, to: Id, amount: Amount }),
    output: z.object({ transferId: z.string(), fromBalance: z.number(), toBalance: z.number() }),
    statements: [
      { sql: CREDIT, params: (a) => [-a.amount, a.from], expect: { rows: 1, kind: "not_found", refusal: (a) => noSuchAccount(a.from) } },
      { sql: CREDIT, params: (a) => [a.amount, a.to], expect: { rows: 1, kind: "not_found", refusal: (a) => noSuchAccount(a.to) } },
      { sql: MOVEMENT, params: (a, c) => [a.from, -a.amount, `t-${c.sedimentId}-${c.step}`, c.now] },
      { sql: MOVEMENT, params: (a, c) => [a.to, a.amount, `t-${c.sedimentId}-${c.step}`, c.now] },
    ],
    result: (rows, _a, c) => ({
      transferId: `t-${c.sedimentId}-${c.step}`,
      fromBalance: Number(rows[0]![0]!.balance),
      toBalance: Number(rows[1]![0]!.balance),
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
    statements: [
      { sql: CREDIT, params: (a) => [a.amount, a.accountId], expect: { rows: 1, kind: "not_found", refusal: (a) => noSuchAccount(a.accountId) } },
      { sql: MOVEMENT, params: (a, c) => [a.accountId, a.amount, a.transferId, c.now] },
    ],
    result: (rows) => balanceOf(rows[0]![0]),
  }),
});

export type LedgerVocabulary = typeof ledger;
