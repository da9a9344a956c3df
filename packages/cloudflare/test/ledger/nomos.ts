import { defineNomos, integer, text } from "@noema/core";

/** The law of one ledger: declared once; the DDL, hashes and refusal messages are derived from it. */
export const ledgerNomos = defineNomos({
  name: "ledger",
  version: 1,
  tables: {
    accounts: {
      columns: {
        id: text().primaryKey(),
        holder: text().notNull(),
        balance: integer().notNull().default(0).check("balance >= 0", "an account's balance cannot go below zero"),
        opened_at: integer().notNull(),
      },
    },
    movements: {
      columns: {
        id: integer().primaryKey(),
        account_id: text().notNull(),
        amount: integer().notNull().check("amount != 0", "a movement moves money"),
        // NULL for a deposit; the legs of one transfer share it.
        transfer_id: text(),
        at: integer().notNull(),
      },
      indexes: { movements_by_transfer: { columns: ["transfer_id"] } },
    },
  },
  // Cross-row laws, checked after the last step of every Intent and before it commits.
  invariants: {
    balances_match_movements: {
      violations: `SELECT a.id, a.balance, COALESCE(SUM(m.amount), 0) AS moved
        FROM accounts a LEFT JOIN movements m ON m.account_id = a.id
        GROUP BY a.id HAVING a.balance != moved`,
      message: "an account's balance must equal the sum of its movements",
    },
    transfers_net_zero: {
      violations: `SELECT transfer_id, SUM(amount) AS net FROM movements
        WHERE transfer_id IS NOT NULL GROUP BY transfer_id HAVING net != 0`,
      message: "the legs of a transfer must net to zero",
    },
  },
});
