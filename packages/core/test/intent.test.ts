import fc from "fast-check";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type ArgHole, buildIntent, DEFAULT_LIMITS, defineNomos, defineVocabulary, describeVocabulary, explain, type Intent, type IntentLimits, MAX_BOUND_PARAMETERS, type OutputRef, parseIntent, operation, sql, type Statement, text, VocabularyDefinitionError } from "../src/index.js";
import { bindParams, countPlaceholders } from "../src/intent/vocabulary.js";
import { canonicalJson } from "../src/canonical/index.js";
import { envelope, wellFormedEnvelope } from "../src/intent/wire.js";
import { buildError, dotted } from "./support.js";
import { ledger, ledgerNomos } from "./ledger.js";

const stamp = { name: ledgerNomos.name, version: ledgerNomos.version, hash: ledgerNomos.hash };
const ref = (step: number, output: string) => ({ $ref: { step, output } });
const open = (accountId = "alice", owner = "Alice") => ({ op: "openAccount", args: { accountId, owner } });
const deposit = (accountId: unknown, amount: unknown = 10) => ({ op: "deposit", args: { accountId, amount } });
const wire = (...steps: unknown[]) => ({ v: 1, nomos: stamp, steps });

/** The issues of an Intent that must be refused. */
function refusal(input: unknown, limits?: IntentLimits): ReturnType<typeof dotted> {
  const result = parseIntent(ledger, input, limits);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return dotted(result.issues);
}


const noop = sql`SELECT 1`;
const noArgs = { description: "", args: z.object({}), output: z.object({}), statements: { noop }, result: () => ({}) };

describe("defineVocabulary", () => {
  it("counts ? placeholders outside string literals and quoted identifiers", () => {
    expect(countPlaceholders("UPDATE t SET a = ? WHERE b = ? AND c = ?")).toBe(3);
    expect(countPlaceholders("SELECT '?', \"?\", ? FROM t WHERE x = 'it''s ?'")).toBe(1);
    expect(countPlaceholders("SELECT 1")).toBe(0);
  });

  it("counts exactly the placeholders of the unquoted parts", () => {
    const plain = fc.string({ unit: fc.constantFrom("a", " ", "?", ",", "(") });
    const quoted = fc.tuple(fc.constantFrom("'", '"'), fc.string({ unit: fc.constantFrom("a", "?", " ") })).map(([q, s]) => q + s + q);
    fc.assert(
      fc.property(fc.array(fc.tuple(plain, quoted)), (parts) => {
        const sql = parts.map(([p, q]) => p + q).join("");
        const expected = parts.reduce((n, [p]) => n + [...p].filter((c) => c === "?").length, 0);
        expect(countPlaceholders(sql)).toBe(expected);
      }),
    );
  });

  it(`accepts ${MAX_BOUND_PARAMETERS} placeholders and rejects more at definition`, () => {
    const withPlaceholders = (n: number) =>
      operation({
        ...noArgs,
        args: z.object({ x: z.number() }),
        statements: ({ arg }) => {
          const strings = Object.assign(["SELECT ", ...Array<string>(n - 1).fill(", "), ""], { raw: [] });
          return { noop, wide: sql(strings, ...Array(n).fill(arg.x)) };
        },
      });
    expect(() => defineVocabulary(ledgerNomos, { wide: withPlaceholders(100) })).not.toThrow();
    expect(() => defineVocabulary(ledgerNomos, { wide: withPlaceholders(101) })).toThrow(VocabularyDefinitionError);
    expect(() => defineVocabulary(ledgerNomos, { wide: withPlaceholders(101) })).toThrow(
      'operation "wide" statement "wide" has 101 placeholders; SQLite in Durable Objects binds at most 100',
    );
    // A question mark inside a literal binds nothing.
    const text = `SELECT '${"?".repeat(200)}'`;
    const quoted = { ...noArgs, statements: { quoted: sql(Object.assign([text], { raw: [text] })) } };
    expect(() => defineVocabulary(ledgerNomos, { quoted })).not.toThrow();
  });

  it.each(["Deposit", "make-transfer", "1st", "", "has space", "snake_case", `a${"b".repeat(64)}`])("rejects the operation name %j", (name) => {
    expect(() => defineVocabulary(ledgerNomos, { [name]: noArgs })).toThrow(`operation name "${name}" must be camelCase letters and digits`);
  });

  it("accepts camelCase names up to 64 characters", () => {
    const names = ["a", "openAccount2", `a${"b".repeat(63)}`];
    const vocabulary = defineVocabulary(ledgerNomos, Object.fromEntries(names.map((name) => [name, noArgs])));
    expect(Object.keys(vocabulary.operations)).toStrictEqual(names);
  });

  it("rejects an operation without statements", () => {
    expect(() => defineVocabulary(ledgerNomos, { empty: { ...noArgs, statements: {} } })).toThrow('operation "empty" has no statements');
  });

  it("rejects a statement not written with sql`…`", () => {
    const raw = { sql: "SELECT 1", holes: [] } as unknown as Statement;
    expect(() => defineVocabulary(ledgerNomos, { raw: { ...noArgs, statements: { raw } } })).toThrow('operation "raw" statement "raw" is not written with sql`…`');
  });

  describe("reads every statement's SQL as its Sieve will, so a law that cannot be used fails here", () => {
    const seating = defineNomos({
      name: "seating",
      version: 1,
      tables: { event: { columns: { id: text().primaryKey() } }, seats: { columns: { id: text().primaryKey(), status: text().notNull() } } },
    });
    const addSeat = (statement: (id: ArgHole<"id", string>) => Statement<{ id: string }>) =>
      operation({ description: "", args: z.object({ id: z.string() }), output: z.object({}), statements: ({ arg }) => ({ insert: statement(arg.id) }), result: () => ({}) });

    it("accepts INSERT … SELECT … RETURNING, which SQLite runs (issue 17)", () => {
      const vocabulary = defineVocabulary(seating, { addSeat: addSeat((id) => sql`INSERT INTO seats (id, status) SELECT ${id}, 'free' FROM event RETURNING id`) });
      expect(Object.keys(explain(vocabulary, { v: 1, steps: [{ op: "addSeat", args: { id: "a1" } }] }, { now: 1, sedimentId: 1 }).sieve)).toEqual(
        ["column:seats.id", "column:seats.status", "op:addSeat", "shape:seats", "table:event", "table:seats", "write:seats"],
      );
    });

    it("refuses SQL it cannot read, naming the operation, the statement, the position and the SQL", () => {
      const define = () => defineVocabulary(seating, { addSeat: addSeat((id) => sql`INSERT INTO seats (id, status) SELECT ${id}, 'free' FROM event EXCEPT SELECT id, status FROM seats`) });
      expect(define).toThrow(VocabularyDefinitionError);
      expect(define).toThrow(
        /^operation "addSeat" statement "insert": cannot read this SQL: expected .* at column 67 \(near "SELECT id, statu"\); in: INSERT INTO seats \(id, status\) SELECT \?, 'free' FROM event EXCEPT SELECT id, status FROM seats$/,
      );
    });

    it("refuses a table or column the Nomos does not declare (issue 22), and reads an expectation's cause too", () => {
      expect(() => defineVocabulary(seating, { addSeat: addSeat((id) => sql`INSERT INTO seats (id, state) VALUES (${id}, 'free')`) })).toThrow(
        /^operation "addSeat" statement "insert": table "seats" has no column "state" in Nomos seating v1 at column 24 \(near "state\) VALUES \(\?"\); in: INSERT INTO seats/,
      );
      expect(() => defineVocabulary(seating, { addSeat: addSeat((id) => sql`UPDATE seat SET status = 'held' WHERE id = ${id}`) })).toThrow(
        /^operation "addSeat" statement "insert": SQL names table "seat", which Nomos seating v1 does not declare at column 8 \(near "seat SET status/,
      );
      const withCause = addSeat((id) =>
        sql`UPDATE seats SET status = 'held' WHERE id = ${id} RETURNING id`.expect({ rows: 1, refusal: () => "taken", cause: sql`SELECT 1 FROM seats WHERE seat_id = ${id}`.expect({ rows: 1, refusal: () => "no such seat" }) }),
      );
      expect(() => defineVocabulary(seating, { addSeat: withCause })).toThrow(/^operation "addSeat" statement "insert" \(its expectation's cause\): SQL names column "seat_id"/);
    });
  });
});

describe("describeVocabulary", () => {
  it("gives each operation's description and the JSON Schemas of its arguments, as sent, and output", () => {
    const described = describeVocabulary(ledger);
    expect(Object.keys(described)).toStrictEqual(["openAccount", "deposit", "transfer"]);
    expect(described.openAccount).toStrictEqual({
      description: "Opens an empty account.",
      args: {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        properties: {
          accountId: { type: "string", pattern: "^[a-z0-9-]{1,32}$" },
          owner: { type: "string", minLength: 1 },
          currency: { type: "string", enum: ["EUR", "USD"], default: "EUR" },
        },
        // A defaulted argument may be left out.
        required: ["accountId", "owner"],
      },
      output: {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        properties: { accountId: { type: "string" } },
        required: ["accountId"],
        additionalProperties: false,
      },
    });
    // Computed once: the operation hash reads the same schemas.
    expect(describeVocabulary(ledger).deposit!.args).toBe(described.deposit!.args);
  });
});

describe("sql", () => {
  const base = {
    description: "binds in place",
    args: z.object({ id: z.string(), n: z.number(), note: z.string().optional(), flag: z.boolean() }),
    output: z.object({}),
  };
  const op = operation({
    ...base,
    statements: ({ arg, ctx, computed }) => ({
      spliced: sql`UPDATE accounts
        SET balance = balance + ${arg.n}   WHERE id = ${arg.id} ${sql`AND owner = ${computed((a) => `o-${a.id}`)}`}
        AND 'a  ?  b' <> ${ctx.now}`,
    }),
    result: () => ({}),
  });

  it("keeps the static text with one ? per hole, whitespace collapsed outside literals, a spliced statement in place", () => {
    const { spliced } = op.statements;
    expect(spliced.sql).toBe("UPDATE accounts SET balance = balance + ? WHERE id = ? AND owner = ? AND 'a  ?  b' <> ?");
    expect(spliced.holes.map((h) => (h.kind === "computed" ? "computed" : `${h.kind}.${h.name}`))).toStrictEqual(["arg.n", "arg.id", "computed", "ctx.now"]);
  });

  it("binds each hole's value, an absent optional argument as NULL", () => {
    const s = operation({ ...base, statements: ({ arg }) => ({ s: sql`SELECT ${arg.note}, ${arg.id}` }), result: () => ({}) }).statements.s;
    expect(bindParams(s, { id: "a" }, { now: 1, sedimentId: 2, step: 3 })).toStrictEqual([null, "a"]);
    expect(bindParams(op.statements.spliced, { id: "a", n: 5 }, { now: 1, sedimentId: 2, step: 3 })).toStrictEqual([5, "a", "o-a", 1]);
  });

  it("refuses a ? written in the text, a value that is not a hole, and splicing a statement with an expectation", () => {
    expect(() => sql`SELECT ?`).toThrow(VocabularyDefinitionError);
    expect(() => sql`SELECT ?`).toThrow("write each value as a hole, not as ?: SELECT ?");
    // @ts-expect-error a plain value is not a hole: it would be bound without the Sieve or explain knowing where from
    expect(() => sql`SELECT ${"x"}`).toThrow(/a sql hole must be arg.x, ctx.x, computed\(…\), columnsOf\(…\) or a statement/);
    const expecting = sql`SELECT 1`.expect({ rows: 1, refusal: () => "none" });
    expect(() => sql`SELECT ${expecting}`).toThrow("a statement with an expectation cannot be spliced into another");
  });

  it("refuses a hole that names no argument, as its type does", () => {
    expect(() =>
      operation({
        ...base,
        // @ts-expect-error there is no argument `nope`
        statements: ({ arg }) => ({ s: sql`SELECT ${arg.nope}` }),
        result: () => ({}),
      }),
    ).toThrow("a sql hole must be arg.x, ctx.x, computed(…), columnsOf(…) or a statement, not undefined: SELECT ?");
    // The types of holes and rows are asserted in types.test-d.ts (checked by `npm run typecheck`).
  });
});

describe("buildIntent", () => {
  it("produces plain wire data stamped with the Nomos, defaults applied", () => {
    const intent = buildIntent(
      ledger,
      (s) => {
        const alice = s.openAccount({ accountId: "alice", owner: "Alice" });
        const bob = s.openAccount({ accountId: "bob", owner: "Bob", currency: "USD" });
        s.deposit({ accountId: alice.accountId, amount: 100 });
        s.transfer({ from: alice.accountId, to: bob.accountId, amount: 30, memo: "rent" });
      },
      { idempotencyKey: "k-1" },
    );
    expect(intent).toStrictEqual({
      v: 1,
      nomos: stamp,
      idempotencyKey: "k-1",
      steps: [
        { op: "openAccount", args: { accountId: "alice", owner: "Alice", currency: "EUR" } },
        { op: "openAccount", args: { accountId: "bob", owner: "Bob", currency: "USD" } },
        { op: "deposit", args: { accountId: ref(0, "accountId"), amount: 100 } },
        { op: "transfer", args: { from: ref(0, "accountId"), to: ref(1, "accountId"), amount: 30, memo: "rent" } },
      ],
    });
  });

  it("returns one Ref per declared output, naming the step", () => {
    buildIntent(ledger, (s) => {
      s.openAccount({ accountId: "a", owner: "A" });
      const t = s.transfer({ from: "a", to: "b", amount: 1 });
      expect(t).toStrictEqual({ transferId: ref(1, "transferId"), fromBalance: ref(1, "fromBalance") });
    });
  });

  it("leaves an optional argument given as undefined out, as JSON would", () => {
    const intent = buildIntent(ledger, (s) => void s.transfer({ from: "a", to: "b", amount: 1, memo: undefined }));
    expect(intent.steps[0]!.args).toStrictEqual({ from: "a", to: "b", amount: 1 });
  });

  it("validates each step when it is added, with the argument's path", () => {
    let reachedAfterBadStep = false;
    const error = buildError(() =>
      buildIntent(ledger, (s) => {
        s.openAccount({ accountId: "alice", owner: "Alice" });
        s.deposit({ accountId: "alice", amount: 0 });
        reachedAfterBadStep = true;
      }),
    );
    expect(reachedAfterBadStep).toBe(false);
    expect(error.error.name).toBe("IntentValidationError");
    expect(error.issues.map((i) => i.path)).toEqual(["steps.1.args.amount"]);
    expect(error.message).toMatch(/^steps\.1\.args\.amount: /);
  });

  it("reports every bad argument of a step", () => {
    const error = buildError(() => buildIntent(ledger, (s) => void s.transfer({ from: "Not Valid", to: "b", amount: 1.5, memo: "x".repeat(141) })));
    expect(error.issues.map((i) => i.path).sort()).toEqual(["steps.0.args.amount", "steps.0.args.from", "steps.0.args.memo"]);
    expect(error.issues.find((i) => i.path === "steps.0.args.amount")!.message).toBe("must be a whole number");
  });

  it("refuses arguments the operation does not declare", () => {
    const error = buildError(() =>
      buildIntent(ledger, (s) => void s.deposit({ accountId: "a", amount: 1, bonus: 5 } as Parameters<typeof s.deposit>[0])),
    );
    expect(error.issues).toEqual([{ path: "steps.0.args.bonus", message: 'unknown field "bonus"' }]);
  });

  it("refuses a hand-made Ref to the same or a later step", () => {
    const error = buildError(() => buildIntent(ledger, (s) => void s.deposit({ accountId: ref(0, "accountId"), amount: 1 })));
    expect(error.issues).toEqual([
      { path: "steps.0.args.accountId", message: "refers to step 0, but a step may only use outputs of earlier steps; the first step has none before it" },
    ]);
  });

  it("enforces the step limit", () => {
    const steps = (n: number, limits?: IntentLimits) =>
      buildIntent(
        ledger,
        (s) => {
          for (let i = 0; i < n; i++) s.deposit({ accountId: "a", amount: 1 });
        },
        limits ? { limits } : {},
      );
    expect(steps(DEFAULT_LIMITS.maxSteps).steps).toHaveLength(64);
    expect(buildError(() => steps(65)).issues).toEqual([{ path: "steps", message: "Intent has 65 steps; at most 64 are allowed" }]);
    expect(buildError(() => steps(3, { ...DEFAULT_LIMITS, maxSteps: 2 })).issues).toEqual([
      { path: "steps", message: "Intent has 3 steps; at most 2 are allowed" },
    ]);
  });

  it("enforces the string length limit on arguments the schema leaves unbounded", () => {
    expect(buildIntent(ledger, (s) => void s.openAccount({ accountId: "a", owner: "x".repeat(4096) })).steps).toHaveLength(1);
    const error = buildError(() => buildIntent(ledger, (s) => void s.openAccount({ accountId: "a", owner: "x".repeat(4097) })));
    expect(error.issues).toEqual([{ path: "steps.0.args.owner", message: "string is 4097 characters; at most 4096 are allowed" }]);
  });

  it("enforces the byte limit", () => {
    const error = buildError(() =>
      buildIntent(ledger, (s) => {
        for (let i = 0; i < 17; i++) s.openAccount({ accountId: `a${i}`, owner: "x".repeat(4000) });
      }),
    );
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe("");
    expect(error.issues[0]!.message).toMatch(/^Intent is \d+ bytes; at most 65536 are allowed$/);
  });

  it("refuses a bad idempotency key", () => {
    expect(buildError(() => buildIntent(ledger, (s) => void s.deposit({ accountId: "a", amount: 1 }), { idempotencyKey: "" })).issues[0]!.path).toBe("idempotencyKey");
  });
});

describe("parseIntent", () => {
  it("accepts a hand-written Intent, applies defaults and keeps Refs", () => {
    const result = parseIntent(ledger, wire(open(), deposit(ref(0, "accountId"))));
    expect(result).toStrictEqual({
      ok: true,
      value: {
        v: 1,
        nomos: stamp,
        steps: [
          { op: "openAccount", args: { accountId: "alice", owner: "Alice", currency: "EUR" } },
          { op: "deposit", args: { accountId: ref(0, "accountId"), amount: 10 } },
        ],
      },
    });
  });

  it("accepts an Intent without a Nomos stamp", () => {
    expect(parseIntent(ledger, { v: 1, steps: [open()] }).ok).toBe(true);
  });

  const tooLongKey = "k".repeat(129);
  const cases: [string, unknown, string, string?][] = [
    // envelope
    ["null", null, ""],
    ["a string", "intent", ""],
    ["an array", [open()], ""],
    ["a missing version", { nomos: stamp, steps: [open()] }, "v", "wire format version must be 1"],
    ["version 2", { ...wire(open()), v: 2 }, "v", "wire format version must be 1"],
    ["version as a string", { ...wire(open()), v: "1" }, "v", "wire format version must be 1"],
    ["an unknown top-level field", { ...wire(open()), when: "now" }, "when", 'unknown field "when"'],
    ["a Nomos of another name", { ...wire(open()), nomos: { ...stamp, name: "inventory" } }, "nomos.name", 'Intent was built for Nomos "inventory", this vocabulary is for "ledger"'],
    ["a malformed Nomos hash", { ...wire(open()), nomos: { ...stamp, hash: "abc" } }, "nomos.hash"],
    ["Nomos version 0", { ...wire(open()), nomos: { ...stamp, version: 0 } }, "nomos.version"],
    ["an empty idempotency key", { ...wire(open()), idempotencyKey: "" }, "idempotencyKey"],
    ["a 129-character idempotency key", { ...wire(open()), idempotencyKey: tooLongKey }, "idempotencyKey"],
    ["no steps field", { v: 1 }, "steps"],
    ["no steps", wire(), "steps", "an Intent needs at least one step"],
    // steps
    ["an unknown operation", wire({ op: "withdraw", args: {} }), "steps.0.op", 'unknown operation "withdraw"; known: openAccount, deposit, transfer'],
    ["an inherited property as operation", wire(open(), { op: "constructor", args: {} }), "steps.1.op", 'unknown operation "constructor"; known: openAccount, deposit, transfer'],
    ["__proto__ as operation", wire({ op: "__proto__", args: {} }), "steps.0.op", 'unknown operation "__proto__"; known: openAccount, deposit, transfer'],
    ["an empty operation name", wire({ op: "", args: {} }), "steps.0.op"],
    ["an unknown field on a step", wire({ ...open(), when: 1 }), "steps.0.when", 'unknown field "when"'],
    ["arguments that are an array", wire({ op: "openAccount", args: ["alice"] }), "steps.0.args", "step arguments must be an object"],
    ["arguments that are null", wire({ op: "openAccount", args: null }), "steps.0.args", "step arguments must be an object"],
    // arguments
    ["a missing argument", wire({ op: "deposit", args: { accountId: "alice" } }), "steps.0.args.amount"],
    ["a string for a number", wire(deposit("alice", "5")), "steps.0.args.amount"],
    ["a fraction for a whole number", wire(deposit("alice", 1.5)), "steps.0.args.amount", "must be a whole number"],
    ["an integer beyond 2^53", wire(deposit("alice", 2 ** 53)), "steps.0.args.amount"],
    ["an id that fails its pattern", wire(deposit("'; DROP TABLE accounts; --")), "steps.0.args.accountId", "must be 1–32 characters of a–z, 0–9 or '-'"],
    ["a value outside an enum", wire({ op: "openAccount", args: { accountId: "a", owner: "A", currency: "GBP" } }), "steps.0.args.currency"],
    ["a __proto__ argument", JSON.parse(`{"v":1,"steps":[{"op":"deposit","args":{"accountId":"a","amount":1,"__proto__":{"amount":2}}}]}`), "steps.0.args.__proto__", 'unknown field "__proto__"'],
    ["an unknown argument", wire({ op: "openAccount", args: { accountId: "a", owner: "A", admin: true } }), "steps.0.args.admin", 'unknown field "admin"'],
    // data references
    ["a Ref to its own step", wire(open(), deposit(ref(1, "accountId"))), "steps.1.args.accountId", "refers to step 1, but a step may only use outputs of earlier steps; only outputs of steps 0..0 may be used"],
    ["a Ref to a later step", wire(deposit(ref(1, "accountId")), open()), "steps.0.args.accountId", "refers to step 1, but a step may only use outputs of earlier steps; the first step has none before it"],
    ["a Ref far past the end", wire(open(), deposit(ref(99, "accountId"))), "steps.1.args.accountId"],
    ["a Ref to an undeclared output", wire(open(), deposit(ref(0, "balance"))), "steps.1.args.accountId", 'step 0 (openAccount) has no output "balance"; it declares accountId'],
    ["a Ref to an inherited property", wire(open(), deposit(ref(0, "toString"))), "steps.1.args.accountId", 'step 0 (openAccount) has no output "toString"; it declares accountId'],
    ["a Ref for an undeclared argument", wire(open(), { op: "deposit", args: { accountId: "a", amount: 1, bonus: ref(0, "accountId") } }), "steps.1.args.bonus", 'operation "deposit" has no argument "bonus"'],
    ["a Ref with a negative step", wire(open(), deposit(ref(-1, "accountId"))), "steps.1.args.accountId.$ref.step"],
    ["a Ref with a fractional step", wire(open(), deposit(ref(0.5, "accountId"))), "steps.1.args.accountId.$ref.step"],
    ["a Ref without an output", wire(open(), deposit({ $ref: { step: 0 } })), "steps.1.args.accountId.$ref.output"],
    ["a Ref with an empty output", wire(open(), deposit(ref(0, ""))), "steps.1.args.accountId.$ref.output"],
    ["a Ref with an extra inner field", wire(open(), deposit({ $ref: { step: 0, output: "accountId", when: 1 } })), "steps.1.args.accountId.$ref.when", 'unknown field "when"'],
    ["a Ref with a sibling field", wire(open(), deposit({ ...ref(0, "accountId"), fallback: "bob" })), "steps.1.args.accountId.fallback", 'unknown field "fallback"'],
    ["a Ref given as a string", wire(open(), deposit({ $ref: "0.accountId" })), "steps.1.args.accountId.$ref"],
    // limits
    ["65 steps", wire(...Array.from({ length: 65 }, () => deposit("alice"))), "steps", "Intent has 65 steps; at most 64 are allowed"],
    ["a string over 4096 characters", wire(open("alice", "x".repeat(4097))), "steps.0.args.owner", "string is 4097 characters; at most 4096 are allowed"],
    ["a long string in an unknown argument", wire({ op: "deposit", args: { accountId: "a", amount: 1, note: "x".repeat(5000) } }), "steps.0.args.note", "string is 5000 characters; at most 4096 are allowed"],
  ];

  it.each(cases)("refuses %s at its path", (_what, input, path, message) => {
    const issues = refusal(input);
    expect(issues.map((i) => i.path)).toContain(path);
    if (message) expect(issues).toContainEqual({ path, message });
  });

  it("reports an issue once, at the most precise path", () => {
    expect(refusal(wire(open(), deposit(ref(0, "balance"))))).toHaveLength(1);
    expect(refusal(wire(open(), { op: "deposit", args: { accountId: "a", amount: 1, bonus: ref(0, "accountId") } }))).toHaveLength(1);
    expect(refusal(wire(open(), deposit({ ...ref(0, "accountId"), fallback: "bob" })))).toHaveLength(1);
  });

  it("reports the issues of every step together", () => {
    const issues = refusal(wire(open("Alice"), deposit("alice", -1), { op: "withdraw", args: {} }));
    expect(issues.map((i) => i.path)).toEqual(["steps.0.args.accountId", "steps.1.args.amount", "steps.2.op"]);
  });

  it.each([
    ["undefined", undefined],
    ["a BigInt", { v: 1, steps: [deposit("alice", 10n)] }],
  ])("refuses %s as not plain JSON", (_what, input) => {
    expect(refusal(input)).toEqual([{ path: "", message: "an Intent must be plain JSON data" }]);
  });

  it("counts the byte limit in UTF-8 bytes of the canonical JSON", () => {
    const owner = "é".repeat(100); // 100 characters, 200 bytes
    const input = wire(open("alice", owner));
    const bytes = canonicalJson(input).length + 100;
    const limits = (maxBytes: number) => ({ ...DEFAULT_LIMITS, maxBytes });
    expect(parseIntent(ledger, input, limits(bytes)).ok).toBe(true);
    expect(refusal(input, limits(bytes - 1))).toEqual([{ path: "", message: `Intent is ${bytes} bytes; at most ${bytes - 1} are allowed` }]);
  });

  it("refuses exactly the Intents whose UTF-8 JSON is over the byte limit, whatever their strings hold (property)", () => {
    // Most Intents are sized by an upper bound taken while walking them, without writing their JSON.
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.nat({ max: 3000 }), (owner, maxBytes) => {
        const input = wire(open("alice", owner));
        const bytes = utf8ToBytes(JSON.stringify(input)).length;
        const parsed = parseIntent(ledger, input, { ...DEFAULT_LIMITS, maxBytes });
        expect(!parsed.ok && parsed.issues.some((i) => i.code === "too_big" && i.path.length === 0)).toBe(bytes > maxBytes);
      }),
    );
  });

  it("refuses an oversized Intent before looking at anything else", () => {
    const huge = { v: 2, steps: Array.from({ length: 20 }, () => ({ op: "nope", args: { owner: "x".repeat(4000) } })) };
    expect(refusal(huge)).toEqual([{ path: "", message: expect.stringMatching(/^Intent is \d+ bytes; at most 65536 are allowed$/) as string }]);
  });

  it("accepts exactly the limits", () => {
    expect(parseIntent(ledger, wire(...Array.from({ length: 64 }, () => deposit("alice")))).ok).toBe(true);
    expect(parseIntent(ledger, wire(open("alice", "x".repeat(4096)))).ok).toBe(true);
    expect(parseIntent(ledger, { ...wire(open()), idempotencyKey: "k".repeat(128) }).ok).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// The wire format round trip, over random valid Intents.
// ---------------------------------------------------------------------------

/** An account argument: a literal id, or the output of an earlier openAccount (chosen by index). */
type Account = { id: string } | { opened: number };
type Recipe =
  | { op: "openAccount"; accountId: string; owner: string; currency: "EUR" | "USD" | undefined }
  | { op: "deposit"; account: Account; amount: number }
  | { op: "transfer"; from: Account; to: Account; amount: number; memo: string | undefined };

const accountId = fc.stringMatching(/^[a-z0-9-]{1,32}$/);
const account: fc.Arbitrary<Account> = fc.oneof(accountId.map((id) => ({ id })), fc.nat().map((opened) => ({ opened })));
const amount = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  fc.record({
    op: fc.constant("openAccount" as const),
    accountId,
    owner: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
    currency: fc.constantFrom("EUR" as const, "USD" as const, undefined),
  }),
  fc.record({ op: fc.constant("deposit" as const), account, amount }),
  fc.record({
    op: fc.constant("transfer" as const),
    from: account,
    to: account,
    amount,
    memo: fc.option(fc.string({ unit: "binary", maxLength: 70 }), { nil: undefined }),
  }),
);

function build(recipes: Recipe[], idempotencyKey: string | undefined): Intent {
  return buildIntent(
    ledger,
    (s) => {
      const opened: OutputRef<string>[] = [];
      const pick = (a: Account) => ("id" in a ? a.id : (opened[a.opened % Math.max(opened.length, 1)] ?? "fallback"));
      for (const r of recipes) {
        if (r.op === "openAccount") opened.push(s.openAccount({ accountId: r.accountId, owner: r.owner, currency: r.currency }).accountId);
        else if (r.op === "deposit") s.deposit({ accountId: pick(r.account), amount: r.amount });
        else s.transfer({ from: pick(r.from), to: pick(r.to), amount: r.amount, memo: r.memo });
      }
    },
    idempotencyKey === undefined ? {} : { idempotencyKey },
  );
}

const builtIntent = fc
  .tuple(fc.array(recipe, { minLength: 1, maxLength: 20 }), fc.option(fc.string({ minLength: 1, maxLength: 128 }), { nil: undefined }))
  .map(([recipes, key]) => build(recipes, key));

describe("wire format round trip", () => {
  it("a built Intent survives JSON unchanged and parses back to itself", () => {
    fc.assert(
      fc.property(builtIntent, (intent) => {
        const received: unknown = JSON.parse(JSON.stringify(intent));
        expect(received).toStrictEqual(intent);
        expect(parseIntent(ledger, received)).toStrictEqual({ ok: true, value: intent });
        // Canonical storage form too: what the sediment log stores and hashes.
        expect(parseIntent(ledger, JSON.parse(canonicalJson(intent)))).toStrictEqual({ ok: true, value: intent });
      }),
    );
  });

  it("explains a received Intent exactly as the one that was built", () => {
    fc.assert(
      fc.property(builtIntent, (intent) => {
        const received = parseIntent(ledger, JSON.parse(JSON.stringify(intent)));
        if (!received.ok) throw new Error("a built Intent must parse");
        const ctx = { now: 1_700_000_000_000, sedimentId: 3 };
        expect(explain(ledger, received.value, ctx)).toStrictEqual(explain(ledger, intent, ctx));
      }),
    );
  });
});

describe("the envelope's fast path", () => {
  // Mostly valid values for each field, and nearly valid ones, so both sides of every check are reached.
  const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: invalid });
  const name = mostly(fc.string({ minLength: 1, maxLength: 64 }), fc.constantFrom("", "x".repeat(65), 3));
  const absent = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
  const nomos = mostly(
    fc.record({
      name,
      version: mostly(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, "1")),
      hash: mostly(fc.constant("ab".repeat(32)), fc.constantFrom("AB".repeat(32), "ab", "")),
      extra: fc.constantFrom(undefined, undefined, undefined, 1),
    }),
    fc.constantFrom(null, "law", []),
  );
  const key = mostly(fc.string({ minLength: 1, maxLength: 128 }), fc.constantFrom("", "k".repeat(129), null, 7));
  const args = mostly(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), fc.constantFrom(null, [], "a", undefined));
  const step = mostly(fc.record({ op: name, args }), fc.oneof(fc.constantFrom(null, "step"), fc.record({ op: name, args, extra: fc.constant(1) })));
  const steps = mostly(fc.array(step, { minLength: 1, maxLength: 3 }), fc.constantFrom([], {}, null));
  // An absent field is left out, or sometimes given as undefined, which Zod takes for absent too.
  const input = fc
    .tuple(fc.record({ v: mostly(fc.constant(1), fc.constantFrom(2, "1")), nomos: absent(nomos), idempotencyKey: absent(key), steps, other: fc.constantFrom(undefined, undefined, undefined, true) }), fc.boolean())
    .map(([x, keepUndefined]) => Object.fromEntries(Object.entries(x).filter(([k, v]) => v !== undefined || (keepUndefined && k !== "other"))));

  it("takes only envelopes Zod accepts, with the same data", () => {
    let taken = 0;
    fc.assert(
      fc.property(input, (x) => {
        if (!wellFormedEnvelope(x)) return;
        taken++;
        const parsed = envelope().safeParse(x);
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(x);
      }),
      { numRuns: 3000 },
    );
    // The property says something only if the fast path takes a fair share.
    expect(taken).toBeGreaterThan(30);
  });
});
