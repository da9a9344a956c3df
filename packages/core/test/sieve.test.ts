import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { inventoryV1, inventoryV2 } from "./fixtures/inventory.js";
import { defineVocabulary, type Intent, operation, SieveDerivationError, sql, type Vocabulary } from "../src/index.js";
import { intentSieve, operationHash } from "../src/runtime.js";
import { type Footprint, statementFootprint } from "../src/footprint/index.js";
import { operationFootprint, sieveOf, tablesOfInvariants } from "../src/sieve/index.js";
import { ledger, ledgerNomos } from "./ledger.js";

/** A footprint as plain sorted arrays, so that a mismatch shows exactly which name is missing or extra. */
const plain = (fp: Footprint) => ({
  tables: [...fp.tables].sort(),
  columns: [...fp.columns].sort(),
  writes: [...fp.writes].sort(),
  inserts: [...fp.inserts].sort(),
});
type Expected = ReturnType<typeof plain>;

/** `cols("stock", "quantity", "reserved")` → ["stock.quantity", "stock.reserved"]. */
const cols = (table: string, ...columns: string[]) => columns.map((c) => `${table}.${c}`);
const expected = (e: { tables: string[]; columns: string[]; writes?: string[]; inserts?: string[] }): Expected => ({
  tables: [...e.tables].sort(),
  columns: [...e.columns].sort(),
  writes: [...(e.writes ?? [])].sort(),
  inserts: [...(e.inserts ?? [])].sort(),
});

/*
 * Written by hand from reading each operation's SQL in test/fixtures/inventory.ts,
 * statement by statement, never from the code under test.
 */
const STOCK_ALL = cols("stock", "location_id", "quantity", "reserved", "updated_at");
const MOVEMENT_INSERT = cols("movements", "location_id", "delta", "reason", "reference_id", "at");
const RESERVATION_INSERT_V1 = cols("reservations", "id", "location_id", "quantity", "status", "order_id", "created_at", "expires_at");

const inventoryV1Expected: Record<string, Expected> = {
  // UPDATE stock SET quantity, updated_at WHERE location_id; INSERT INTO stock (location_id, quantity,
  // reserved, updated_at) SELECT … WHERE NOT EXISTS (SELECT 1 FROM stock WHERE location_id = ?);
  // SELECT location_id, quantity, reserved FROM stock.
  setStock: expected({ tables: ["stock"], columns: STOCK_ALL, writes: ["stock"], inserts: ["stock"] }),
  // The stock statements of setStock, plus a guard reading stock.location_id and an INSERT INTO
  // movements naming five of its six columns (not the rowid `id`).
  adjust: expected({
    tables: ["stock", "movements"],
    columns: [...STOCK_ALL, ...MOVEMENT_INSERT],
    writes: ["stock", "movements"],
    inserts: ["stock", "movements"],
  }),
  // UPDATE stock SET reserved, updated_at WHERE location_id, quantity - reserved RETURNING location_id,
  // quantity, reserved; INSERT INTO reservations naming every column but closed_at.
  reserve: expected({
    tables: ["stock", "reservations"],
    columns: [...STOCK_ALL, ...RESERVATION_INSERT_V1],
    writes: ["stock", "reservations"],
    inserts: ["reservations"],
  }),
  // SELECT id FROM reservations; UPDATE reservations SET status, closed_at WHERE id, status; UPDATE stock
  // SET reserved, updated_at from (SELECT quantity FROM reservations), WHERE location_id = (SELECT
  // location_id FROM reservations) RETURNING location_id, quantity, reserved. `quantity` in the
  // subquery is the reservation's (innermost scope first), but stock.quantity is in RETURNING anyway.
  release: expected({
    tables: ["reservations", "stock"],
    columns: [...cols("reservations", "id", "status", "closed_at", "quantity", "location_id"), ...STOCK_ALL],
    writes: ["reservations", "stock"],
  }),
  // release's statements with quantity also written, plus INSERT INTO movements (5 columns) SELECT
  // location_id, -quantity, 'sale', id FROM reservations: the SELECT does not see movements, so
  // `id` there is reservations.id and movements.id stays out.
  commit: expected({
    tables: ["reservations", "stock", "movements"],
    // expires_at: an expired reservation cannot be committed.
    columns: [...cols("reservations", "id", "status", "closed_at", "quantity", "location_id", "expires_at"), ...STOCK_ALL, ...MOVEMENT_INSERT],
    writes: ["reservations", "stock", "movements"],
    inserts: ["movements"],
  }),
};

const inventoryV2Expected: Record<string, Expected> = {
  ...inventoryV1Expected,
  // v1's reserve, and the INSERT also names channel.
  reserve: expected({
    tables: ["stock", "reservations"],
    columns: [...STOCK_ALL, ...RESERVATION_INSERT_V1, "reservations.channel"],
    writes: ["stock", "reservations"],
    inserts: ["reservations"],
  }),
  // INSERT INTO channel_sync (channel, last_sediment_id, synced_at) … ON CONFLICT (channel) DO UPDATE
  // SET last_sediment_id = excluded.last_sediment_id, synced_at = excluded.synced_at.
  recordChannelSync: expected({
    tables: ["channel_sync"],
    columns: cols("channel_sync", "channel", "last_sediment_id", "synced_at"),
    writes: ["channel_sync"],
    inserts: ["channel_sync"],
  }),
};

const ledgerExpected: Record<string, Expected> = {
  // INSERT INTO accounts (id, owner, balance, currency) … RETURNING id.
  openAccount: expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner", "balance", "currency"), writes: ["accounts"], inserts: ["accounts"] }),
  // UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING balance.
  deposit: expected({ tables: ["accounts"], columns: cols("accounts", "balance", "id"), writes: ["accounts"] }),
  // Two UPDATEs of accounts (balance, id), then INSERT INTO transfers naming five columns RETURNING id.
  transfer: expected({
    tables: ["accounts", "transfers"],
    columns: [...cols("accounts", "balance", "id"), ...cols("transfers", "from_account", "to_account", "amount", "memo", "at", "id")],
    writes: ["accounts", "transfers"],
    inserts: ["transfers"],
  }),
};

describe("operationFootprint: exactly what each operation's SQL touches", () => {
  const cases: [string, Vocabulary, Record<string, Expected>][] = [
    ["inventory v1", inventoryV1, inventoryV1Expected],
    ["inventory v2", inventoryV2, inventoryV2Expected],
    ["ledger", ledger, ledgerExpected],
  ];
  for (const [name, vocabulary, byOp] of cases) {
    it(`${name}: every operation has a hand-written footprint`, () => {
      expect(Object.keys(byOp).sort()).toStrictEqual(Object.keys(vocabulary.operations).sort());
    });
    for (const [op, want] of Object.entries(byOp)) {
      it(`${name} ${op}`, () => {
        expect(plain(operationFootprint(vocabulary, op))).toStrictEqual(want);
      });
    }
  }

  it("refuses an operation the vocabulary does not have", () => {
    expect(() => operationFootprint(ledger, "withdraw")).toThrow(/unknown operation "withdraw"/);
  });
});

describe("invariant footprints", () => {
  it("inventory: the reservation sum reads stock and reservations, not the derived table's outputs", () => {
    const nomos = inventoryV1.nomos;
    expect(plain(statementFootprint(nomos, nomos.invariants.reserved_matches_active_reservations!.violations))).toStrictEqual(
      expected({ tables: ["stock", "reservations"], columns: [...cols("stock", "location_id", "reserved"), ...cols("reservations", "quantity", "location_id", "status")] }),
    );
    expect(tablesOfInvariants(nomos)).toStrictEqual(new Map([["reserved_matches_active_reservations", new Set(["stock", "reservations"])]]));
  });

  it("ledger: both correlated subqueries reach the outer transfer through its alias", () => {
    expect(plain(statementFootprint(ledgerNomos, ledgerNomos.invariants.transfers_between_known_accounts!.violations))).toStrictEqual(
      expected({ tables: ["transfers", "accounts"], columns: [...cols("transfers", "id", "from_account", "to_account"), "accounts.id"] }),
    );
  });
});

describe("statementFootprint", () => {
  const fp = (sql: string) => plain(statementFootprint(ledgerNomos, sql));

  it("resolves aliases to their tables", () => {
    expect(fp("SELECT a.owner FROM accounts AS a WHERE a.currency = ?")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "owner", "currency") }),
    );
    expect(fp("SELECT t.memo, a.owner FROM transfers t JOIN accounts a ON a.id = t.from_account")).toStrictEqual(
      expected({ tables: ["transfers", "accounts"], columns: [...cols("transfers", "memo", "from_account"), ...cols("accounts", "owner", "id")] }),
    );
  });

  it("resolves a correlated subquery's columns innermost scope first, then outwards", () => {
    // `id` is a column of both tables: inside the subquery it is the account's. `from_account`
    // exists only in transfers, so it is the outer row's. transfers.id is never named.
    expect(fp("SELECT memo FROM transfers WHERE EXISTS (SELECT 1 FROM accounts WHERE id = from_account)")).toStrictEqual(
      expected({ tables: ["transfers", "accounts"], columns: [...cols("transfers", "memo", "from_account"), "accounts.id"] }),
    );
    expect(fp("SELECT owner FROM accounts WHERE id IN (SELECT from_account FROM transfers WHERE amount > balance)")).toStrictEqual(
      expected({ tables: ["accounts", "transfers"], columns: [...cols("accounts", "owner", "id", "balance"), ...cols("transfers", "from_account", "amount")] }),
    );
  });

  it("INSERT … SELECT does not see the target table; its column list and RETURNING do", () => {
    expect(fp("INSERT INTO transfers (from_account, to_account, amount, at) SELECT id, id, balance, 0 FROM accounts WHERE owner = ?")).toStrictEqual(
      expected({
        tables: ["transfers", "accounts"],
        columns: [...cols("transfers", "from_account", "to_account", "amount", "at"), ...cols("accounts", "id", "balance", "owner")],
        writes: ["transfers"],
        inserts: ["transfers"],
      }),
    );
    expect(fp("INSERT INTO accounts (id, owner, currency) VALUES (?, ?, ?) RETURNING balance")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner", "currency", "balance"), writes: ["accounts"], inserts: ["accounts"] }),
    );
  });

  it("counts RETURNING of UPDATE and DELETE, which write without inserting", () => {
    expect(fp("UPDATE accounts SET owner = ? WHERE id = ? RETURNING currency")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "owner", "id", "currency"), writes: ["accounts"] }),
    );
    expect(fp("DELETE FROM transfers WHERE at < ? RETURNING memo")).toStrictEqual(
      expected({ tables: ["transfers"], columns: cols("transfers", "at", "memo"), writes: ["transfers"] }),
    );    // The grammar alone cannot read RETURNING after a DELETE without WHERE, nor after UPDATE OR.
    expect(fp("DELETE FROM transfers RETURNING memo")).toStrictEqual(expected({ tables: ["transfers"], columns: cols("transfers", "memo"), writes: ["transfers"] }));
    expect(fp("UPDATE OR IGNORE accounts SET owner = ? RETURNING id")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "owner", "id"), writes: ["accounts"] }),
    );
  });

  it("expands `*` and `alias.*` to every column of the tables they cover", () => {
    expect(fp("SELECT * FROM accounts")).toStrictEqual(expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner", "balance", "currency") }));
    expect(fp("SELECT t.* FROM transfers t JOIN accounts a ON a.id = t.to_account")).toStrictEqual(
      expected({ tables: ["transfers", "accounts"], columns: [...cols("transfers", "id", "from_account", "to_account", "amount", "memo", "at"), "accounts.id"] }),
    );
    // Without a column list, VALUES fill every column.
    expect(fp("INSERT INTO accounts VALUES (?, ?, ?, ?)")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner", "balance", "currency"), writes: ["accounts"], inserts: ["accounts"] }),
    );
  });

  it("counts a derived table's columns where they are defined, and its outputs nowhere else", () => {
    expect(fp("SELECT owner FROM (SELECT owner, balance FROM accounts) AS d WHERE d.balance > 0")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "owner", "balance") }),
    );
    // `amount` is the derived table's output here: transfers.amount of the outer query is not read.
    expect(fp("SELECT memo FROM transfers WHERE EXISTS (SELECT 1 FROM (SELECT balance AS amount FROM accounts) d WHERE amount > 0)")).toStrictEqual(
      expected({ tables: ["transfers", "accounts"], columns: ["accounts.balance", "transfers.memo"] }),
    );
  });

  it("reads WITH clauses as named derived tables, recursive ones included", () => {
    expect(fp("WITH rich AS (SELECT id, owner FROM accounts WHERE balance > 100) SELECT owner FROM rich")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner", "balance") }),
    );
    expect(fp("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n")).toStrictEqual(
      expected({ tables: [], columns: [] }),
    );
  });

  it("keeps the SELECTs of a compound apart", () => {
    // The second SELECT's `id` is the outer account's: the first SELECT's transfers are not in its scope.
    expect(fp("SELECT owner FROM accounts WHERE EXISTS (SELECT 1 FROM transfers WHERE amount > 0 UNION SELECT 1 WHERE id = ?)")).toStrictEqual(
      expected({ tables: ["accounts", "transfers"], columns: [...cols("accounts", "owner", "id"), "transfers.amount"] }),
    );
  });

  it("counts JOIN … USING columns on both sides", () => {
    const nomos = inventoryV1.nomos;
    expect(plain(statementFootprint(nomos, "SELECT delta FROM movements JOIN stock USING (location_id)"))).toStrictEqual(
      expected({ tables: ["movements", "stock"], columns: ["movements.delta", "movements.location_id", "stock.location_id"] }),
    );
  });

  it('reads a double-quoted name as a column when one is in scope, as SQLite does', () => {
    expect(fp('SELECT "owner" FROM accounts WHERE "id" = ?')).toStrictEqual(expected({ tables: ["accounts"], columns: cols("accounts", "owner", "id") }));
    expect(fp('SELECT "nobody" FROM accounts')).toStrictEqual(expected({ tables: ["accounts"], columns: [] }));
  });

  it("derives an upsert: conflict target, DO UPDATE assignments and `excluded`", () => {
    expect(fp("INSERT INTO accounts (id, owner) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET balance = balance + excluded.balance WHERE currency = 'EUR' RETURNING owner")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner", "balance", "currency"), writes: ["accounts"], inserts: ["accounts"] }),
    );
    expect(fp("INSERT INTO accounts (id, owner) VALUES (?, ?) ON CONFLICT DO NOTHING")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner"), writes: ["accounts"], inserts: ["accounts"] }),
    );
  });

  it("refuses a table the Nomos does not declare, naming it", () => {
    expect(() => fp("SELECT id FROM customers")).toThrow(SieveDerivationError);
    expect(() => fp("SELECT id FROM customers")).toThrow(/"customers"/);
    expect(() => fp("UPDATE accounts SET balance = (SELECT 1 FROM audit) WHERE id = ?")).toThrow(/"audit"/);
  });

  it("refuses SQL it cannot parse, or cannot read exactly", () => {
    expect(() => fp("SELEC id FROM accounts")).toThrow(SieveDerivationError);
    expect(() => fp("SELECT id FROM accounts NATURAL JOIN transfers")).toThrow(/NATURAL JOIN/);
  });
});

describe("statementFootprint: SQL the parser's grammar lacks, read in parts with the same footprint", () => {
  const fp = (sql: string) => plain(statementFootprint(ledgerNomos, sql));
  const TRANSFER_ROW = cols("transfers", "from_account", "to_account", "amount", "at");

  it("INSERT … SELECT … RETURNING: RETURNING sees the inserted table only", () => {
    expect(fp("INSERT INTO transfers (from_account, to_account, amount, at) SELECT ?, id, 0, 0 FROM accounts WHERE owner = ? RETURNING id, memo")).toStrictEqual(
      expected({ tables: ["transfers", "accounts"], columns: [...TRANSFER_ROW, ...cols("transfers", "id", "memo"), ...cols("accounts", "id", "owner")], writes: ["transfers"], inserts: ["transfers"] }),
    );
    // `owner` is a column of the SELECT's table, not of the row RETURNING sees: SQLite says no such column.
    expect(() => fp("INSERT INTO transfers (from_account, to_account, amount, at) SELECT ?, id, 0, 0 FROM accounts RETURNING owner")).toThrow(/column "owner", which no table in scope has/);
  });

  it("an upsert after INSERT … SELECT, with RETURNING", () => {
    expect(fp("INSERT INTO accounts (id, owner) SELECT from_account, memo FROM transfers WHERE true ON CONFLICT (id) WHERE currency = 'EUR' DO UPDATE SET owner = excluded.owner WHERE balance > 0 RETURNING balance")).toStrictEqual(
      expected({ tables: ["accounts", "transfers"], columns: [...cols("accounts", "id", "owner", "currency", "balance"), ...cols("transfers", "from_account", "memo")], writes: ["accounts"], inserts: ["accounts"] }),
    );
    expect(fp("INSERT OR REPLACE INTO accounts (id, owner) VALUES (?, ?) ON CONFLICT DO NOTHING ON CONFLICT (id) DO NOTHING")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner"), writes: ["accounts"], inserts: ["accounts"] }),
    );
  });

  it("a WITH clause before INSERT, UPDATE or DELETE: its names are visible in the whole statement", () => {
    expect(fp("WITH rich AS (SELECT id FROM accounts WHERE balance > 100) INSERT INTO transfers (from_account, to_account, amount, at) SELECT id, id, 0, 0 FROM rich")).toStrictEqual(
      expected({ tables: ["accounts", "transfers"], columns: [...cols("accounts", "id", "balance"), ...TRANSFER_ROW], writes: ["transfers"], inserts: ["transfers"] }),
    );
    expect(fp("WITH eur(id) AS (SELECT id FROM accounts WHERE currency = ?) UPDATE transfers SET memo = ? WHERE from_account IN (SELECT id FROM eur) RETURNING amount")).toStrictEqual(
      expected({ tables: ["accounts", "transfers"], columns: [...cols("accounts", "id", "currency"), ...cols("transfers", "memo", "from_account", "amount")], writes: ["transfers"] }),
    );
    expect(fp("WITH RECURSIVE gone AS (SELECT id FROM accounts WHERE owner IS NULL) DELETE FROM transfers WHERE to_account IN (SELECT id FROM gone)")).toStrictEqual(
      expected({ tables: ["accounts", "transfers"], columns: [...cols("accounts", "id", "owner"), "transfers.to_account"], writes: ["transfers"] }),
    );
  });

  it("json_each and json_tree in FROM: their columns are theirs, and their arguments see the tables before them", () => {
    expect(fp("SELECT value FROM json_each(?)")).toStrictEqual(expected({ tables: [], columns: [] }));
    expect(fp("INSERT INTO accounts (id, owner) SELECT value, ? FROM json_each(?) RETURNING id")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner"), writes: ["accounts"], inserts: ["accounts"] }),
    );
    expect(fp("UPDATE accounts SET balance = 0 WHERE id IN (SELECT j.value FROM json_each(?) AS j WHERE j.key < 10)")).toStrictEqual(
      expected({ tables: ["accounts"], columns: cols("accounts", "balance", "id"), writes: ["accounts"] }),
    );
    expect(fp("SELECT a.id, key FROM accounts a, json_tree(a.owner) WHERE type = 'text'")).toStrictEqual(expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner") }));
    // `id` is a column of json_each too: the innermost scope decides, so accounts.id is not read here.
    expect(fp("SELECT owner FROM accounts WHERE EXISTS (SELECT 1 FROM json_each(?) WHERE id > 0)")).toStrictEqual(expected({ tables: ["accounts"], columns: ["accounts.owner"] }));
    expect(() => fp("SELECT value FROM generate_series(1, 3)")).toThrow(/table-valued function "generate_series" is not supported/);
  });

  it("UPDATE OR <resolution> and INSERT … DEFAULT VALUES", () => {
    expect(fp("UPDATE OR IGNORE accounts SET owner = ? WHERE id = ?")).toStrictEqual(expected({ tables: ["accounts"], columns: cols("accounts", "owner", "id"), writes: ["accounts"] }));
    expect(fp("INSERT INTO transfers DEFAULT VALUES RETURNING id")).toStrictEqual(
      expected({ tables: ["transfers"], columns: cols("transfers", "id", "from_account", "to_account", "amount", "memo", "at"), writes: ["transfers"], inserts: ["transfers"] }),
    );
  });

  it("bound values in LIMIT and OFFSET, and a backslash as the last character of a string", () => {
    expect(fp("SELECT owner FROM accounts WHERE owner LIKE ? ESCAPE '\\' ORDER BY id LIMIT ? OFFSET ?")).toStrictEqual(expected({ tables: ["accounts"], columns: cols("accounts", "owner", "id") }));
    expect(fp("DELETE FROM transfers WHERE id IN (SELECT id FROM transfers WHERE at < ? LIMIT ?)")).toStrictEqual(expected({ tables: ["transfers"], columns: cols("transfers", "id", "at"), writes: ["transfers"] }));
  });

  it("says where it stopped reading, as a column of the statement as written", () => {
    const at = (sql: string, near: string) => new RegExp(`at column ${sql.indexOf(near) + 1} \\(near "${near.slice(0, 16).replace(/[()*]/g, "\\$&")}`);
    const window = "INSERT INTO accounts (id) VALUES (?) RETURNING row_number() OVER (ORDER BY id)";
    expect(() => fp(window)).toThrow(SieveDerivationError);
    expect(() => fp(window)).toThrow(at(window, "ORDER BY id)"));
    const except = "SELECT id FROM accounts EXCEPT SELECT from_account FROM transfers";
    expect(() => fp(except)).toThrow(at(except, "SELECT from_account"));
  });
});

describe("statementFootprint: what docs/concepts/nomos.md lists as not supported is refused, never misread", () => {
  it.each([
    "SELECT id FROM accounts EXCEPT SELECT from_account FROM transfers",
    "SELECT id FROM accounts INTERSECT SELECT from_account FROM transfers",
    "SELECT a.id FROM accounts a RIGHT JOIN transfers t ON t.from_account = a.id",
    "SELECT a.id FROM accounts a FULL OUTER JOIN transfers t ON t.from_account = a.id",
    "SELECT id FROM accounts NATURAL JOIN transfers",
    "SELECT id, row_number() OVER (ORDER BY id) FROM accounts",
    "SELECT id FROM accounts WINDOW w AS (ORDER BY id)",
    "SELECT COUNT(*) FILTER (WHERE balance > 0) FROM accounts",
    "UPDATE accounts SET balance = t.amount FROM transfers t WHERE t.from_account = accounts.id",
    "UPDATE accounts SET (owner, currency) = (?, ?) WHERE id = ?",
    "SELECT id FROM accounts WHERE owner IS NOT DISTINCT FROM ?",
    "SELECT id FROM accounts WHERE owner ISNULL",
    "SELECT id FROM accounts ORDER BY owner NULLS LAST",
    "SELECT id FROM accounts INDEXED BY accounts_by_owner",
    "SELECT id FROM accounts NOT INDEXED",
    "VALUES (1), (2)",
    "SELECT value FROM generate_series(1, 3)",
  ])("%s", (sql) => {
    expect(() => statementFootprint(ledgerNomos, sql)).toThrow(SieveDerivationError);
  });
});

describe("statementFootprint: names the Nomos lacks are errors, as SQLite's are when the statement first runs", () => {
  const fp = (sql: string) => plain(statementFootprint(ledgerNomos, sql));

  it("refuses a column no table in scope has, wherever it is named", () => {
    expect(() => fp("SELECT nope FROM accounts")).toThrow(/SQL names column "nope", which no table in scope has in Nomos ledger v1/);
    expect(() => fp("SELECT a.nope FROM accounts a")).toThrow(/table "accounts" has no column "nope"/);
    expect(() => fp("INSERT INTO accounts (id, nope) VALUES (?, ?)")).toThrow(/table "accounts" has no column "nope"/);
    expect(() => fp("UPDATE accounts SET nope = 1 WHERE id = ?")).toThrow(/table "accounts" has no column "nope"/);
    expect(() => fp("UPDATE accounts SET owner = ? WHERE nope = 1")).toThrow(/column "nope"/);
    expect(() => fp("INSERT INTO accounts (id) VALUES (?) ON CONFLICT (id) DO UPDATE SET nope = excluded.owner")).toThrow(/table "accounts" has no column "nope"/);
    expect(() => fp("INSERT INTO accounts (id) VALUES (?) ON CONFLICT (id) DO UPDATE SET owner = excluded.nope")).toThrow(/table "accounts" has no column "nope"/);
    expect(() => fp("DELETE FROM transfers WHERE at < ? RETURNING nope")).toThrow(/column "nope"/);
    expect(() => fp("SELECT t.memo FROM transfers t JOIN accounts a USING (memo)")).toThrow(/table "accounts" has no column "memo"/);
    expect(() => fp("SELECT x.id FROM accounts")).toThrow(/SQL names "x.id", but no table or alias "x" is in scope there/);
  });

  it("accepts what SQLite accepts: rowid, result aliases, strings in double quotes, any case, the columns of a derived `*`", () => {
    expect(fp("SELECT rowid, owner AS who FROM accounts WHERE who IS NOT NULL ORDER BY who")).toStrictEqual(expected({ tables: ["accounts"], columns: ["accounts.owner"] }));
    expect(fp('SELECT "nobody" FROM accounts')).toStrictEqual(expected({ tables: ["accounts"], columns: [] }));
    expect(fp("SELECT OWNER FROM Accounts A WHERE A.ID = ?")).toStrictEqual(expected({ tables: ["accounts"], columns: cols("accounts", "owner", "id") }));
    expect(fp("SELECT anything FROM (SELECT * FROM accounts)")).toStrictEqual(expected({ tables: ["accounts"], columns: cols("accounts", "id", "owner", "balance", "currency") }));
    expect(fp("SELECT COUNT(*) AS n FROM transfers GROUP BY from_account HAVING n > 1")).toStrictEqual(expected({ tables: ["transfers"], columns: ["transfers.from_account"] }));
  });
});

describe("Sieve", () => {
  const intentOf = (...ops: string[]): Intent => ({ v: 1, steps: ops.map((op) => ({ op, args: {} })) });
  const elements = (v: Vocabulary) => v.nomos.elements as Record<string, string>;
  const invariant = "invariant:reserved_matches_active_reservations";

  it("names each element an operation depends on, with its hash under the Intent's law", () => {
    const sieve = intentSieve(inventoryV1, intentOf("setStock"));
    const e = elements(inventoryV1);
    expect(sieve).toStrictEqual({
      ...Object.fromEntries(STOCK_ALL.map((c) => [`column:${c}`, e[`column:${c}`]])),
      [invariant]: e[invariant],
      "op:setStock": operationHash(inventoryV1.operations.setStock),
      "shape:stock": e["shape:stock"],
      "table:stock": e["table:stock"],
      // Written: the table's own constraints apply, so `write:` carries the table-level hash.
      "write:stock": e["table:stock"],
    });
  });

  it("includes an invariant only when the Intent writes a table it reads", () => {
    expect(Object.keys(intentSieve(inventoryV2, intentOf("recordChannelSync")))).toStrictEqual([
      "column:channel_sync.channel",
      "column:channel_sync.last_sediment_id",
      "column:channel_sync.synced_at",
      "op:recordChannelSync",
      "shape:channel_sync",
      "table:channel_sync",
      "write:channel_sync",
    ]);
    // Reading a table the invariant reads is not enough: only a write can break it.
    const withRead = defineVocabulary(ledgerNomos, {
      ...ledger.operations,
      balance: operation({
        description: "Reads a balance.",
        args: z.object({ accountId: z.string() }),
        output: z.object({ balance: z.number() }),
        statements: ({ arg }) => ({ balance: sql`SELECT balance FROM accounts WHERE id = ${arg.accountId}` }),
        result: (rows) => ({ balance: Number(rows.balance[0]?.balance) }),
      }),
    });
    expect(Object.keys(intentSieve(withRead, intentOf("balance")))).toStrictEqual(["column:accounts.balance", "column:accounts.id", "op:balance", "table:accounts"]);
    expect(intentSieve(withRead, intentOf("balance", "deposit"))).toHaveProperty(["invariant:transfers_between_known_accounts"]);
  });

  it("hashes each operation's definition: the same op in two versions has one hash, a changed op another", () => {
    expect(intentSieve(inventoryV2, intentOf("release"))["op:release"]).toBe(intentSieve(inventoryV1, intentOf("release"))["op:release"]);
    expect(intentSieve(inventoryV2, intentOf("reserve"))["op:reserve"]).not.toBe(intentSieve(inventoryV1, intentOf("reserve"))["op:reserve"]);
    expect(operationHash(inventoryV1.operations.release)).not.toBe(operationHash(inventoryV1.operations.commit));
  });

  it("of an Intent is the union of its operations' Sieves, keys sorted, whatever the order and repeats", () => {
    const operations: Vocabulary["operations"] = inventoryV2.operations;
    const ops = Object.keys(operations);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ops), { minLength: 1, maxLength: 8 }), (steps) => {
        const sieve = intentSieve(inventoryV2, intentOf(...steps));
        const union = Object.assign({}, ...steps.map((op) => sieveOf(inventoryV2, [op]))) as Record<string, string>;
        expect(sieve).toStrictEqual(union);
        expect(Object.keys(sieve)).toStrictEqual(Object.keys(sieve).sort());
        for (const op of steps) expect(sieve[`op:${op}`]).toBe(operationHash(operations[op]!));
      }),
    );
  });
});
