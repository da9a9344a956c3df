import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildIntent, explain, type Intent, MAX_FREEZE_MS, type OutputRef, parseIntent, type StepBuilder } from "../src/index.js";
import { intentSieve } from "../src/runtime.js";
import { backoffMs, CANCEL_SQL, FREEZE_SQL } from "../src/cryostasis/store.js";
import { resumedOriginJson } from "../src/seal/cryostasis.js";
import { canonicalJson, contentHash } from "../src/canonical/index.js";
import { operationsOf } from "../src/intent/wire.js";
import { sieveOf } from "../src/sieve/index.js";
import { buildError, dotted } from "./support.js";
import { ledger, ledgerNomos } from "./ledger.js";

const stamp = { name: ledgerNomos.name, version: ledgerNomos.version, hash: ledgerNomos.hash };
const ref = (step: number, output: string) => ({ $ref: { step, output } });
const open = (accountId = "alice", owner = "Alice") => ({ op: "openAccount", args: { accountId, owner } });
const deposit = (accountId: unknown, amount: unknown = 10) => ({ op: "deposit", args: { accountId, amount } });
const freeze = (args: Record<string, unknown>, ...steps: unknown[]) => ({ op: "$freeze", args: { ...args, intent: { steps } } });
const cancel = (key: unknown) => ({ op: "$cancel", args: { key } });
const wire = (...steps: unknown[]) => ({ v: 1, nomos: stamp, steps });
const AT = 1_800_000_000_000;
const KNOWN = "known: openAccount, deposit, transfer";

function refusal(input: unknown): ReturnType<typeof dotted> {
  const result = parseIntent(ledger, input);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return dotted(result.issues);
}

function parsed(input: unknown): Intent {
  const result = parseIntent(ledger, input);
  if (!result.ok) throw new Error(`expected an Intent, got ${JSON.stringify(result.issues)}`);
  return result.value;
}


describe("parseIntent: $freeze", () => {
  it("accepts a wake time, applies the frozen steps' defaults and keeps the key", () => {
    expect(parsed(wire(freeze({ at: AT, key: "expire-r1" }, open())))).toStrictEqual({
      v: 1,
      nomos: stamp,
      steps: [{ op: "$freeze", args: { at: AT, key: "expire-r1", intent: { steps: [{ op: "openAccount", args: { accountId: "alice", owner: "Alice", currency: "EUR" } }] } } }],
    });
  });

  it("accepts a delay instead of a wake time, from one second up to the freezing limit", () => {
    expect(parsed(wire(freeze({ delaySeconds: 1 }, deposit("alice")))).steps[0]!.args).toStrictEqual({
      delaySeconds: 1,
      intent: { steps: [deposit("alice")] },
    });
    expect(parseIntent(ledger, wire(freeze({ delaySeconds: MAX_FREEZE_MS / 1000 }, deposit("alice")))).ok).toBe(true);
  });

  it("lets the frozen steps use outputs of the outer Intent's earlier steps", () => {
    const intent = parsed(wire(open(), open("bob", "Bob"), freeze({ at: AT }, deposit(ref(0, "accountId")), { op: "transfer", args: { from: ref(1, "accountId"), to: ref(0, "accountId"), amount: 1 } })));
    expect(intent.steps[2]!.args.intent).toStrictEqual({
      steps: [deposit(ref(0, "accountId")), { op: "transfer", args: { from: ref(1, "accountId"), to: ref(0, "accountId"), amount: 1 } }],
    });
  });

  it("lets the wake time, the delay and the key come from earlier outputs", () => {
    const intent = parsed(wire(open(), deposit("alice"), freeze({ delaySeconds: ref(1, "balance"), key: ref(0, "accountId") }, deposit("alice")), freeze({ at: ref(2, "wakeAt") }, deposit("alice"))));
    expect(intent.steps[2]!.args).toMatchObject({ delaySeconds: ref(1, "balance"), key: ref(0, "accountId") });
    expect(intent.steps[3]!.args).toMatchObject({ at: ref(2, "wakeAt") });
  });

  const cases: [string, unknown, string, string?][] = [
    // when
    ["neither at nor delaySeconds", wire(freeze({}, deposit("a"))), "steps.0.args", "give exactly one of at or delaySeconds"],
    ["both at and delaySeconds", wire(freeze({ at: AT, delaySeconds: 60 }, deposit("a"))), "steps.0.args", "give exactly one of at or delaySeconds"],
    ["a negative wake time", wire(freeze({ at: -1 }, deposit("a"))), "steps.0.args.at"],
    ["a fractional wake time", wire(freeze({ at: AT + 0.5 }, deposit("a"))), "steps.0.args.at"],
    ["a wake time as a string", wire(freeze({ at: "2027-01-01" }, deposit("a"))), "steps.0.args.at"],
    ["a delay of zero", wire(freeze({ delaySeconds: 0 }, deposit("a"))), "steps.0.args.delaySeconds"],
    ["a fractional delay", wire(freeze({ delaySeconds: 1.5 }, deposit("a"))), "steps.0.args.delaySeconds"],
    ["a delay beyond the freezing limit", wire(freeze({ delaySeconds: MAX_FREEZE_MS / 1000 + 1 }, deposit("a"))), "steps.0.args.delaySeconds"],
    // key
    ["an empty key", wire(freeze({ at: AT, key: "" }, deposit("a"))), "steps.0.args.key", "must be a string of 1–128 characters"],
    ["a 129-character key", wire(freeze({ at: AT, key: "k".repeat(129) }, deposit("a"))), "steps.0.args.key"],
    ["a key as a number", wire(freeze({ at: AT, key: 7 }, deposit("a"))), "steps.0.args.key"],
    // shape
    ["no frozen Intent", wire({ op: "$freeze", args: { at: AT } }), "steps.0.args.intent"],
    ["a frozen Intent without steps", wire(freeze({ at: AT })), "steps.0.args.intent.steps", "a frozen Intent needs at least one step"],
    ["a whole envelope as the frozen Intent", wire({ op: "$freeze", args: { at: AT, intent: { v: 1, steps: [deposit("a")] } } }), "steps.0.args.intent.v", 'unknown field "v"'],
    ["an unknown argument", wire(freeze({ at: AT, repeat: true }, deposit("a"))), "steps.0.args.repeat", 'unknown field "repeat"'],
    ["an unknown field on a frozen step", wire(freeze({ at: AT }, { ...deposit("a"), when: 1 })), "steps.0.args.intent.steps.0.when", 'unknown field "when"'],
    ["frozen arguments that are an array", wire(freeze({ at: AT }, { op: "deposit", args: ["a", 1] })), "steps.0.args.intent.steps.0.args", "step arguments must be an object"],
    // frozen steps
    ["an unknown frozen operation", wire(freeze({ at: AT }, { op: "withdraw", args: {} })), "steps.0.args.intent.steps.0.op", `unknown operation "withdraw"; ${KNOWN}`],
    ["a frozen $freeze", wire(freeze({ at: AT }, freeze({ at: AT }, deposit("a")))), "steps.0.args.intent.steps.0.op", "a frozen Intent cannot itself freeze"],
    ["a frozen $cancel", wire(freeze({ at: AT }, deposit("a"), cancel("k"))), "steps.0.args.intent.steps.1.op", "a frozen Intent cannot itself cancel"],
    ["a bad frozen argument", wire(open(), freeze({ at: AT }, deposit("alice", "5"))), "steps.1.args.intent.steps.0.args.amount"],
    ["a missing frozen argument", wire(freeze({ at: AT }, { op: "deposit", args: { accountId: "a" } })), "steps.0.args.intent.steps.0.args.amount"],
    ["an unknown frozen argument", wire(freeze({ at: AT }, { op: "deposit", args: { accountId: "a", amount: 1, bonus: 2 } })), "steps.0.args.intent.steps.0.args.bonus", 'unknown field "bonus"'],
    ["a long string in a frozen step", wire(freeze({ at: AT }, open("a", "x".repeat(4097)))), "steps.0.args.intent.steps.0.args.owner", "string is 4097 characters; at most 4096 are allowed"],
    // Refs
    ["a frozen Ref to its own outer step", wire(open(), freeze({ at: AT }, deposit(ref(1, "cryoId")))), "steps.1.args.intent.steps.0.args.accountId", "refers to step 1, but a step may only use outputs of earlier steps; only outputs of steps 0..0 may be used"],
    ["a frozen Ref to a later outer step", wire(freeze({ at: AT }, deposit(ref(1, "accountId"))), open()), "steps.0.args.intent.steps.0.args.accountId", "refers to step 1, but a step may only use outputs of earlier steps; the first step has none before it"],
    ["a frozen Ref to an undeclared output", wire(open(), freeze({ at: AT }, deposit(ref(0, "balance")))), "steps.1.args.intent.steps.0.args.accountId", 'step 0 (openAccount) has no output "balance"; it declares accountId'],
    ["a frozen Ref for an undeclared argument", wire(open(), freeze({ at: AT }, { op: "deposit", args: { accountId: "a", amount: 1, bonus: ref(0, "accountId") } })), "steps.1.args.intent.steps.0.args.bonus", 'operation "deposit" has no argument "bonus"'],
    ["a malformed frozen Ref", wire(open(), freeze({ at: AT }, deposit({ $ref: { step: -1, output: "accountId" } }))), "steps.1.args.intent.steps.0.args.accountId.$ref.step"],
    ["a wake time from its own step", wire(freeze({ at: ref(0, "wakeAt") }, deposit("a"))), "steps.0.args.at", "refers to step 0, but a step may only use outputs of earlier steps; the first step has none before it"],
    ["a key from a later step", wire(open(), freeze({ at: AT, key: ref(2, "accountId") }, deposit("a")), open("b")), "steps.1.args.key"],
    ["a delay from an undeclared output", wire(open(), freeze({ delaySeconds: ref(0, "seconds") }, deposit("a"))), "steps.1.args.delaySeconds", 'step 0 (openAccount) has no output "seconds"; it declares accountId'],
    ["a Ref with a sibling field as wake time", wire(open(), freeze({ at: { ...ref(0, "accountId"), fallback: 1 } }, deposit("a"))), "steps.1.args.at.fallback", 'unknown field "fallback"'],
  ];

  it.each(cases)("refuses %s at its path", (_what, input, path, message) => {
    const issues = refusal(input);
    expect(issues.map((i) => i.path)).toContain(path);
    if (message) expect(issues).toContainEqual({ path, message });
  });

  it("reports the issues of the outer and every frozen step together", () => {
    const issues = refusal(wire(open("Alice"), freeze({ at: AT }, deposit("alice", 0), { op: "withdraw", args: {} }, freeze({ at: AT }, deposit("a"))), deposit("a", -1)));
    expect(issues.map((i) => i.path)).toEqual([
      "steps.0.args.accountId",
      "steps.1.args.intent.steps.0.args.amount",
      "steps.1.args.intent.steps.1.op",
      "steps.1.args.intent.steps.2.op",
      "steps.2.args.amount",
    ]);
  });
});

describe("parseIntent: $cancel", () => {
  it("accepts a key, given or from an earlier output", () => {
    expect(parsed(wire(cancel("expire-r1"))).steps).toStrictEqual([cancel("expire-r1")]);
    expect(parsed(wire(open(), cancel(ref(0, "accountId")))).steps[1]).toStrictEqual(cancel(ref(0, "accountId")));
  });

  const cases: [string, unknown, string, string?][] = [
    ["no key", wire({ op: "$cancel", args: {} }), "steps.0.args.key"],
    ["an empty key", wire(cancel("")), "steps.0.args.key", "must be a string of 1–128 characters"],
    ["a 129-character key", wire(cancel("k".repeat(129))), "steps.0.args.key"],
    ["a key as a number", wire(cancel(42)), "steps.0.args.key"],
    ["a cryoId instead of a key", wire({ op: "$cancel", args: { key: "k", cryoId: 1 } }), "steps.0.args.cryoId", 'unknown field "cryoId"'],
    ["arguments that are an array", wire({ op: "$cancel", args: ["k"] }), "steps.0.args", "step arguments must be an object"],
    ["a key from its own step", wire(open(), cancel(ref(1, "cancelled"))), "steps.1.args.key", "refers to step 1, but a step may only use outputs of earlier steps; only outputs of steps 0..0 may be used"],
    ["a key from an undeclared output", wire(open(), cancel(ref(0, "key"))), "steps.1.args.key", 'step 0 (openAccount) has no output "key"; it declares accountId'],
  ];

  it.each(cases)("refuses %s at its path", (_what, input, path, message) => {
    const issues = refusal(input);
    expect(issues.map((i) => i.path)).toContain(path);
    if (message) expect(issues).toContainEqual({ path, message });
  });
});

describe("Refs to built-in outputs", () => {
  it("accepts cryoId and wakeAt of $freeze and cancelled of $cancel", () => {
    const intent = wire(
      freeze({ at: AT, key: "k" }, deposit("a")),
      cancel("k"),
      deposit("a", ref(0, "cryoId")),
      deposit("a", ref(0, "wakeAt")),
      freeze({ at: ref(0, "wakeAt") }, deposit("a", ref(0, "cryoId"))),
      { op: "openAccount", args: { accountId: "a", owner: ref(1, "cancelled") } },
    );
    expect(parsed(intent).steps).toHaveLength(6);
  });

  it.each([
    ["$freeze", freeze({ at: AT }, deposit("a")), "key", "cryoId, wakeAt"],
    ["$freeze", freeze({ at: AT }, deposit("a")), "accountId", "cryoId, wakeAt"],
    ["$cancel", cancel("k"), "cryoId", "cancelled"],
  ])("refuses an undeclared output of %s (%s)", (op, step, output, declared) => {
    const message = `step 0 (${op}) has no output "${output}"; it declares ${declared}`;
    expect(refusal(wire(step, deposit(ref(0, output))))).toEqual([{ path: "steps.1.args.accountId", message }]);
    expect(refusal(wire(step, cancel(ref(0, output))))).toEqual([{ path: "steps.1.args.key", message }]);
    expect(refusal(wire(step, freeze({ at: AT }, deposit(ref(0, output)))))).toEqual([{ path: "steps.1.args.intent.steps.0.args.accountId", message }]);
  });
});

describe("buildIntent: $freeze and $cancel", () => {
  it("builds the same Intent as the wire format, frozen steps using earlier outputs", () => {
    const built = buildIntent(ledger, (s) => {
      const alice = s.openAccount({ accountId: "alice", owner: "Alice" });
      const frozen = s.$freeze({ at: AT, key: alice.accountId }, (f) => {
        f.deposit({ accountId: alice.accountId, amount: 5 });
        f.openAccount({ accountId: "bob", owner: "Bob" });
      });
      s.$freeze({ delaySeconds: 60 }, (f) => f.deposit({ accountId: "alice", amount: frozen.cryoId }));
      s.$cancel({ key: "other" });
    });
    expect(built).toStrictEqual(
      parsed(wire(open(), freeze({ at: AT, key: ref(0, "accountId") }, deposit(ref(0, "accountId"), 5), open("bob", "Bob")), freeze({ delaySeconds: 60 }, deposit("alice", ref(1, "cryoId"))), cancel("other"))),
    );
  });

  it("returns Refs to the built-in outputs", () => {
    buildIntent(ledger, (s) => {
      expect(s.$freeze({ at: AT }, (f) => f.deposit({ accountId: "a", amount: 1 }))).toStrictEqual({ cryoId: ref(0, "cryoId"), wakeAt: ref(0, "wakeAt") });
      expect(s.$cancel({ key: "k" })).toStrictEqual({ cancelled: ref(1, "cancelled") });
    });
  });

  it("gives the frozen body steps that return nothing", () => {
    buildIntent(ledger, (s) => {
      s.$freeze({ at: AT }, (f) => {
        expect(f.deposit({ accountId: "a", amount: 1 })).toBeUndefined();
      });
    });
  });

  it("reports a bad frozen argument at its path inside the $freeze step", () => {
    const error = buildError(() =>
      buildIntent(ledger, (s) => {
        s.openAccount({ accountId: "a", owner: "A" });
        s.$freeze({ at: AT }, (f) => {
          f.deposit({ accountId: "a", amount: 1 });
          f.deposit({ accountId: "a", amount: 0 });
        });
      }),
    );
    expect(error.issues.map((i) => i.path)).toEqual(["steps.1.args.intent.steps.1.args.amount"]);
  });

  it.each([
    ["neither at nor delaySeconds", {}, "steps.1.args", "give exactly one of at or delaySeconds"],
    ["both at and delaySeconds", { at: AT, delaySeconds: 5 }, "steps.1.args", "give exactly one of at or delaySeconds"],
    ["an empty key", { at: AT, key: "" }, "steps.1.args.key", "must be a string of 1–128 characters"],
    ["a delay of zero", { delaySeconds: 0 }, "steps.1.args.delaySeconds", undefined],
  ])("refuses %s at the $freeze step", (_what, when, path, message) => {
    const error = buildError(() =>
      buildIntent(ledger, (s) => {
        s.openAccount({ accountId: "a", owner: "A" });
        s.$freeze(when, (f) => f.deposit({ accountId: "a", amount: 1 }));
      }),
    );
    expect(error.issues.map((i) => i.path)).toEqual([path]);
    if (message) expect(error.issues[0]!.message).toBe(message);
  });

  it("refuses an empty frozen body", () => {
    expect(buildError(() => buildIntent(ledger, (s) => void s.$freeze({ at: AT }, () => {}))).issues).toEqual([
      { path: "steps.0.args.intent.steps", message: "a frozen Intent needs at least one step" },
    ]);
  });

  it("refuses a $cancel with an empty key at its step", () => {
    expect(buildError(() => buildIntent(ledger, (s) => void s.$cancel({ key: "" }))).issues).toEqual([{ path: "steps.0.args.key", message: "must be a string of 1–128 characters" }]);
  });

  it("refuses built-ins inside a frozen body, and the builder is usable afterwards", () => {
    type Loose = StepBuilder<typeof ledger.operations> & Record<"$freeze" | "$cancel", (...a: unknown[]) => unknown>;
    const inside = (call: (f: Loose) => void) =>
      buildError(() => buildIntent(ledger, (s) => void s.$freeze({ at: AT }, (f) => call(f as unknown as Loose))));
    expect(inside((f) => f.$freeze({ at: AT }, () => {})).message).toMatch(/cannot itself freeze/);
    const cancelInside = inside((f) => f.$cancel({ key: "k" }));
    expect(cancelInside.message).toMatch(/cannot itself cancel/);
    // The same path parsing reports for a cancel inside a frozen Intent.
    expect(cancelInside.issues[0]!.path).toBe("steps.0.args.intent.steps.0.op");
    // The failed frozen body left no state behind: after a throw inside it, steps go to the outer Intent again.
    const intent = buildIntent(ledger, (s) => {
      expect(() => s.$freeze({ at: AT }, () => {
        throw new Error("body failed");
      })).toThrow("body failed");
      s.deposit({ accountId: "a", amount: 1 });
    });
    expect(intent.steps).toStrictEqual([deposit("a", 1)]);
  });
});

// ---------------------------------------------------------------------------
// Random Intents with built-in steps.
// ---------------------------------------------------------------------------

type Account = { id: string } | { opened: number };
type Plain =
  | { op: "openAccount"; accountId: string; owner: string; currency: "EUR" | "USD" | undefined }
  | { op: "deposit"; account: Account; amount: number }
  | { op: "transfer"; from: Account; to: Account; amount: number; memo: string | undefined };
type Key = { literal: string } | { opened: number } | undefined;
type When = { at: number } | { delaySeconds: number } | { wakeOf: number };
type Recipe = Plain | { op: "$freeze"; when: When; key: Key; body: Plain[] } | { op: "$cancel"; key: NonNullable<Key> };

const accountId = fc.stringMatching(/^[a-z0-9-]{1,32}$/);
const account: fc.Arbitrary<Account> = fc.oneof(accountId.map((id) => ({ id })), fc.nat().map((opened) => ({ opened })));
const amount = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const plain: fc.Arbitrary<Plain> = fc.oneof(
  fc.record({ op: fc.constant("openAccount" as const), accountId, owner: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), currency: fc.constantFrom("EUR" as const, "USD" as const, undefined) }),
  fc.record({ op: fc.constant("deposit" as const), account, amount }),
  fc.record({ op: fc.constant("transfer" as const), from: account, to: account, amount, memo: fc.option(fc.string({ unit: "binary", maxLength: 70 }), { nil: undefined }) }),
);
const key: fc.Arbitrary<NonNullable<Key>> = fc.oneof(fc.string({ minLength: 1, maxLength: 128 }).map((literal) => ({ literal })), fc.nat().map((opened) => ({ opened })));
const when: fc.Arbitrary<When> = fc.oneof(
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((at) => ({ at })),
  fc.integer({ min: 1, max: MAX_FREEZE_MS / 1000 }).map((delaySeconds) => ({ delaySeconds })),
  fc.nat().map((wakeOf) => ({ wakeOf })),
);
const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  plain,
  fc.record({ op: fc.constant("$freeze" as const), when, key: fc.option(key, { nil: undefined }), body: fc.array(plain, { minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constant("$cancel" as const), key }),
);

function build(recipes: Recipe[]): Intent {
  return buildIntent(ledger, (s) => {
    const opened: OutputRef<string>[] = [];
    const wakes: OutputRef<number>[] = [];
    const pick = <T>(refs: T[], i: number, fallback: T) => refs[i % Math.max(refs.length, 1)] ?? fallback;
    const acct = (a: Account) => ("id" in a ? a.id : pick<string | OutputRef<string>>(opened, a.opened, "fallback"));
    const keyOf = (k: NonNullable<Key>) => ("literal" in k ? k.literal : pick<string | OutputRef<string>>(opened, k.opened, "fallback"));
    const plainStep = (b: StepBuilder<typeof ledger.operations> | Parameters<Parameters<typeof s.$freeze>[1]>[0], r: Plain) => {
      if (r.op === "openAccount") return b.openAccount({ accountId: r.accountId, owner: r.owner, currency: r.currency });
      if (r.op === "deposit") return b.deposit({ accountId: acct(r.account), amount: r.amount });
      return b.transfer({ from: acct(r.from), to: acct(r.to), amount: r.amount, memo: r.memo });
    };
    for (const r of recipes) {
      if (r.op === "$freeze") {
        const w = r.when;
        const at = "wakeOf" in w ? { at: pick<number | OutputRef<number>>(wakes, w.wakeOf, 1) } : w;
        const out = s.$freeze({ ...at, ...(r.key ? { key: keyOf(r.key) } : {}) }, (f) => r.body.forEach((b) => plainStep(f, b)));
        wakes.push(out.wakeAt);
      } else if (r.op === "$cancel") s.$cancel({ key: keyOf(r.key) });
      else {
        const out = plainStep(s, r);
        if (out && "accountId" in out) opened.push(out.accountId);
      }
    }
  });
}

const builtIntent = fc.array(recipe, { minLength: 1, maxLength: 16 }).map((recipes) => ({ recipes, intent: build(recipes) }));

const opsOfRecipes = (recipes: Recipe[]) => recipes.flatMap((r) => (r.op === "$freeze" ? r.body.map((b) => b.op) : r.op === "$cancel" ? [] : [r.op]));

describe("Intents with built-in steps", () => {
  it("survive JSON and canonical JSON unchanged and parse back to themselves", () => {
    fc.assert(
      fc.property(builtIntent, ({ intent }) => {
        const received: unknown = JSON.parse(JSON.stringify(intent));
        expect(received).toStrictEqual(intent);
        expect(parseIntent(ledger, received)).toStrictEqual({ ok: true, value: intent });
        expect(parseIntent(ledger, JSON.parse(canonicalJson(intent)))).toStrictEqual({ ok: true, value: intent });
        const ctx = { now: 1_700_000_000_000, sedimentId: 3 };
        expect(explain(ledger, parsed(received), ctx)).toStrictEqual(explain(ledger, intent, ctx));
      }),
    );
  });

  it("name every operation they run or freeze, in order (operationsOf)", () => {
    fc.assert(
      fc.property(builtIntent, ({ recipes, intent }) => {
        expect(operationsOf(intent)).toStrictEqual(opsOfRecipes(recipes));
      }),
    );
  });

  it("depend on the frozen Intents' operations too (intentSieve)", () => {
    fc.assert(
      fc.property(builtIntent, ({ recipes, intent }) => {
        expect(intentSieve(ledger, intent)).toStrictEqual(sieveOf(ledger, opsOfRecipes(recipes)));
      }),
    );
  });

  it("operationsOf and the Sieve: examples", () => {
    const onlyFrozen = parsed(wire(freeze({ at: AT }, { op: "transfer", args: { from: "a", to: "b", amount: 1 } })));
    expect(operationsOf(onlyFrozen)).toStrictEqual(["transfer"]);
    const sieve = intentSieve(ledger, onlyFrozen);
    expect(Object.keys(sieve)).toEqual(expect.arrayContaining(["op:transfer", "table:transfers", "write:transfers", "invariant:transfers_between_known_accounts"]));
    expect(sieve).not.toHaveProperty("op:openAccount");
    const onlyCancel = parsed(wire(cancel("k")));
    expect(operationsOf(onlyCancel)).toStrictEqual([]);
    expect(intentSieve(ledger, onlyCancel)).toStrictEqual({});
  });
});

describe("explain: built-in steps", () => {
  const ctx = { now: 1_700_000_000_000, sedimentId: 9 };

  it("shows a freeze as a row of the Cryostasis table: wake time, key and the frozen Intent, by reference to its step or with its Refs", () => {
    const intent = parsed(wire(open(), freeze({ at: AT, key: ref(0, "accountId") }, deposit(ref(0, "accountId"), 5)), cancel("k")));
    const [, frozen, cancelled] = explain(ledger, intent, ctx).steps;
    expect(frozen!.op).toBe("$freeze");
    expect(frozen!.statements).toHaveLength(1);
    // The statement the Cryostasis store runs, with the values it binds: a stamped Intent's frozen
    // Intent is stored as a reference to this step of this sediment, which derives it.
    expect(frozen!.statements[0]!.sql).toBe(FREEZE_SQL);
    expect(intent.nomos).toBeDefined();
    expect(frozen!.statements[0]!.params).toStrictEqual([
      "(the next cryo_id)",
      AT,
      null,
      ctx.sedimentId,
      1,
      `(the id of Sieve ${contentHash(sieveOf(ledger, ["deposit"]))})`,
      ledger.nomos.version,
      "(this Attractor's World id)",
      ref(0, "accountId"),
      ctx.now,
    ]);
    expect(cancelled).toStrictEqual({ op: "$cancel", statements: [{ sql: CANCEL_SQL, params: ["k"] }] });
  });

  it("binds an absent key as NULL and marks a wake time computed from a Ref", () => {
    const intent = parsed(wire(deposit("a"), freeze({ at: ref(0, "balance") }, deposit("a")), freeze({ delaySeconds: ref(0, "balance") }, deposit("a"))));
    const [, at, delay] = explain(ledger, intent, ctx).steps;
    expect([at!.statements[0]!.params[1], at!.statements[0]!.params[8]]).toStrictEqual([ref(0, "balance"), null]);
    expect(delay!.statements[0]!.params[1]).toStrictEqual({ $computedFrom: [ref(0, "balance")] });
  });

  it("includes the frozen Intent's operations in the Sieve and no statements or invariants of its own", () => {
    const intent = parsed(wire(freeze({ delaySeconds: 60 }, { op: "transfer", args: { from: "a", to: "b", amount: 1 } })));
    const explained = explain(ledger, intent, ctx);
    expect(explained.sieve).toStrictEqual(sieveOf(ledger, ["transfer"]));
    expect(explained.steps).toHaveLength(1);
    expect(explained.steps[0]!.statements.map((s) => s.sql).join(" ")).not.toMatch(/transfers/);
  });
});

describe("backoffMs", () => {
  const cap = 5 * 60 * 1000;

  it("starts at one second and doubles after each failed attempt, up to five minutes", () => {
    expect([1, 2, 3, 4, 5].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(backoffMs(9)).toBe(256_000);
    expect(backoffMs(10)).toBe(cap);
  });

  it("is capped exponential for every attempt count", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (n) => {
        const wait = backoffMs(n);
        expect(wait).toBeGreaterThanOrEqual(1000);
        expect(wait).toBeLessThanOrEqual(cap);
        expect(Number.isInteger(wait)).toBe(true);
        expect(backoffMs(n + 1)).toBe(Math.min(2 * wait, cap));
      }),
    );
  });
});

describe("resumedOriginJson", () => {
  it("is the canonical JSON of a woken Intent's origin under an unchanged law, which its sediment's hash covers", () => {
    const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(
        fc.record({ name: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), version: fc.integer({ min: 1, max: 1_000_000 }), hash: fc.stringMatching(/^[0-9a-f]{64}$/) }),
        fc.record({ cryoId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), frozenAt: time, wakeAt: time, wokeAt: time }),
        (nomos, times) => {
          const cryostasis = { ...times, mode: "resumed" as const };
          expect(resumedOriginJson(nomos, cryostasis)).toBe(canonicalJson({ nomos, reforged: false, steps: [], cryostasis }));
        },
      ),
    );
  });
});
