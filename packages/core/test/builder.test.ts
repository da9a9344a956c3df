import { describe, expect, expectTypeOf, it } from "vitest";
import { buildIntent, DEFAULT_LIMITS, defineVocabulary, formatIssues, type Json, parseIntent, formatPath, IntentValidationError, type Issue, resultOf, safeBuildIntent } from "../src/index.js";
import { zodIssues } from "../src/issue/index.js";
import { z } from "zod";
import { ledger } from "./ledger.js";

describe("resultOf: typed results from a Seal", () => {
  const intent = buildIntent(ledger, (s) => {
    const opened = s.openAccount({ accountId: "alice", owner: "Alice" });
    const deposit = s.deposit({ accountId: opened.accountId, amount: 5 });
    return { account: opened.accountId, deposit, both: [opened.accountId, deposit.balance] as const };
  });
  // What a Seal from a native stub carries: plain outputs, no type parameters.
  const seal: { outputs: Json[] } = { outputs: [{ accountId: "alice" }, { balance: 5 }] };

  it("replaces every Ref the body returned with the output it names", () => {
    expect(resultOf(intent, seal)).toStrictEqual({ account: "alice", deposit: { balance: 5 }, both: ["alice", 5] });
  });

  // Typed by the operations' output schemas: a type-level assertion, so it stands outside any
  // it() (where it would pass at run time whatever the type), checked by `npm run typecheck`.
  expectTypeOf(resultOf(intent, seal)).toEqualTypeOf<{ account: string; deposit: { readonly balance: number }; both: readonly [string, number] }>();

  it("leaves the Intent plain wire data, and is undefined for a body that returns nothing", () => {
    expect(JSON.parse(JSON.stringify(intent))).toStrictEqual(intent);
    const plain = buildIntent(ledger, (s) => void s.deposit({ accountId: "a", amount: 1 }));
    expect(resultOf(plain, { outputs: [{ balance: 1 }] })).toBeUndefined();
  });
});

describe("safeBuildIntent", () => {
  it("returns the Intent, or the issues buildIntent would throw", () => {
    const good = safeBuildIntent(ledger, (s) => s.deposit({ accountId: "a", amount: 1 }));
    expect(good).toStrictEqual({ ok: true, intent: buildIntent(ledger, (s) => s.deposit({ accountId: "a", amount: 1 })) });
    const bad = safeBuildIntent(ledger, (s) => void s.deposit({ accountId: "a", amount: 0 }));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues).toStrictEqual([{ code: "too_small", path: ["steps", 0, "args", "amount"], message: expect.any(String) as string }]);
  });

  it("lets errors that are not about the Intent through", () => {
    expect(() => safeBuildIntent(ledger, () => {
      throw new RangeError("body failed");
    })).toThrow(RangeError);
  });
});

describe("Issues", () => {
  const issues: Issue[] = [
    { code: "invalid_type", path: ["steps", 0, "args", "amount"], message: "expected number" },
    { code: "not_json", path: [], message: "an Intent must be plain JSON data" },
  ];

  it("carry Zod's codes and structured paths, one issue per unknown key", () => {
    const r = z.strictObject({ a: z.number() }).safeParse({ a: "1", b: 1, c: 2 });
    if (r.success) throw new Error("expected a failure");
    expect(zodIssues(r.error, ["args"])).toStrictEqual([
      { code: "invalid_type", path: ["args", "a"], message: expect.any(String) as string },
      { code: "unrecognized_keys", path: ["args", "b"], message: 'unknown field "b"' },
      { code: "unrecognized_keys", path: ["args", "c"], message: 'unknown field "c"' },
    ]);
  });

  it("render through one formatter: dotted paths, the whole input without one", () => {
    expect(formatPath(["steps", 0, "args", "amount"])).toBe("steps.0.args.amount");
    expect(formatPath([])).toBe("");
    expect(formatIssues(issues)).toBe("steps.0.args.amount: expected number; an Intent must be plain JSON data");
    expect(new IntentValidationError(issues).message).toBe(formatIssues(issues));
  });
});

describe("validated once", () => {
  const built = buildIntent(ledger, (s) => void s.deposit({ accountId: "a", amount: 1 }));

  it("a built Intent is frozen, and parsing it in the same isolate returns it without checking it again", () => {
    expect(Object.isFrozen(built) && Object.isFrozen(built.steps[0]!.args)).toBe(true);
    const parsed = parseIntent(ledger, built);
    expect(parsed.ok && parsed.value).toBe(built);
  });

  it("a copy, another vocabulary or stricter limits are parsed in full", () => {
    const copy = JSON.parse(JSON.stringify(built)) as unknown;
    const parsed = parseIntent(ledger, copy);
    expect(parsed.ok && parsed.value).not.toBe(copy);
    expect(parsed).toStrictEqual({ ok: true, value: built });
    const other = defineVocabulary(ledger.nomos, ledger.operations);
    expect(parseIntent(other, built)).toMatchObject({ ok: true });
    expect(parseIntent(other, built).ok && (parseIntent(other, built) as { value: unknown }).value).not.toBe(built);
    expect(parseIntent(ledger, built, { ...DEFAULT_LIMITS, maxBytes: 10 })).toMatchObject({ ok: false, issues: [{ code: "too_big", path: [] }] });
  });
});
