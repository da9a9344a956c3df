import fc from "fast-check";
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { buildIntent, defineNomos, defineVocabulary, explain, type Intent, MAX_KEY_LENGTH, operation, parseIntent, sql, text } from "../src/index.js";
import { intentSieve } from "../src/runtime.js";
import { derivedMessageKey, SEND_SQL } from "../src/message/store.js";
import { operationsOf } from "../src/intent/wire.js";
import { ledger } from "./ledger.js";
import { buildError, dotted } from "./support.js";

// Another Attractor's law: a message is built with the target's vocabulary, not the sender's.
const notes = defineVocabulary(defineNomos({ name: "notes", version: 1, tables: { notes: { columns: { id: text().primaryKey(), body: text().notNull() } } } }), {
  addNote: operation({
    description: "Adds a note.",
    args: z.object({ id: z.string().min(1), body: z.string() }),
    output: z.object({ id: z.string() }),
    statements: ({ arg }) => ({ insert: sql`INSERT INTO notes (id, body) VALUES (${arg.id}, ${arg.body})` }),
    result: (_rows, args) => ({ id: args.id }),
  }),
});

const note = buildIntent(notes, (s) => void s.addNote({ id: "n1", body: "hello" }));
const to = { attractor: "NOTES_ATTRACTOR", name: "inbox" };

describe("$send", () => {
  it("the builder carries the target's Intent as it was built, and the step outputs a messageId and a key", () => {
    const intent = buildIntent(ledger, (s) => {
      const account = s.openAccount({ accountId: "a1", owner: "Ada" });
      const sent = s.$send({ to, key: account.accountId }, note);
      return sent.messageId;
    });
    expect(intent.steps[1]).toEqual({ op: "$send", args: { to, intent: note, key: { $ref: { step: 0, output: "accountId" } } } });
    // The message's operations are the target's: they are not in the sender's Sieve.
    expect(operationsOf(intent)).toEqual(["openAccount"]);
    expect(Object.keys(intentSieve(ledger, intent)).some((k) => k.includes("addNote"))).toBe(false);
    expect(parseIntent(ledger, JSON.parse(JSON.stringify(intent)))).toMatchObject({ ok: true });
    // The very object, not a copy: the sending Attractor's check against the target's law then knows it checked.
    expect((intent.steps[1]!.args as unknown as { intent: Intent }).intent).toBe(note);
    // An Intent not built (a copy, as from RPC) is carried as parsed, not as given.
    const copy = JSON.parse(JSON.stringify(note)) as Intent;
    const parsed = parseIntent(ledger, { v: 1, steps: [{ op: "$send", args: { to, intent: copy } }] });
    expect(parsed.ok && (parsed.value.steps[0]!.args as unknown as { intent: Intent }).intent).not.toBe(copy);
  });

  it("refuses a message without its law's stamp, with its own idempotency key, a bad key or unknown fields, naming the field", () => {
    const { nomos: _stamp, ...unstamped } = note;
    const cases: [string, Record<string, unknown>, string][] = [
      ["no stamp", { to, intent: unstamped }, "steps.0.args.intent.nomos"],
      ["its own key", { to, intent: { ...note, idempotencyKey: "k" } }, "steps.0.args.intent.idempotencyKey"],
      ["an empty key", { to, intent: note, key: "" }, "steps.0.args.key"],
      ["a long key", { to, intent: note, key: "k".repeat(MAX_KEY_LENGTH + 1) }, "steps.0.args.key"],
      ["no target name", { to: { attractor: "X" }, intent: note }, "steps.0.args.to.name"],
      ["an unknown field", { to, intent: note, priority: 1 }, "steps.0.args.priority"],
      ["no steps", { to, intent: { ...note, steps: [] } }, "steps.0.args.intent.steps"],
    ];
    for (const [label, args, path] of cases) {
      const parsed = parseIntent(ledger, { v: 1, steps: [{ op: "$send", args }] });
      expect(parsed.ok, label).toBe(false);
      if (!parsed.ok) expect(dotted(parsed.issues).map((i) => i.path), label).toContain(path);
    }
    expect(buildError(() => buildIntent(ledger, (s) => void s.$send({ to, key: "" }, note))).issues[0]!.path).toBe("steps.0.args.key");
  });

  it("explain shows the outbox insert it runs", () => {
    const intent = buildIntent(ledger, (s) => void s.$send({ to, key: "k1" }, note));
    const explained = explain(ledger, intent, { now: 1000, sedimentId: 7 });
    expect(explained.steps[0]!.statements[0]!.sql).toBe(SEND_SQL);
    expect(explained.steps[0]!.statements[0]!.params.slice(0, 3)).toEqual(["k1", "NOTES_ATTRACTOR", "inbox"]);
  });

  it("a derived key names the World, the sediment and the step: distinct for every send, never longer than a key may be", () => {
    const world = fc.record({ attractor: fc.string({ minLength: 1, maxLength: 40 }), name: fc.string({ minLength: 1, maxLength: 200 }), nomosVersion: fc.constant(1), nomosHash: fc.constant("h") });
    fc.assert(
      fc.property(world, fc.nat(), fc.nat(63), fc.nat(), fc.nat(63), (w, a, i, b, j) => {
        const k1 = derivedMessageKey(w, a, i);
        expect(k1.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        if (a !== b || i !== j) expect(derivedMessageKey(w, b, j)).not.toBe(k1);
      }),
    );
    expect(derivedMessageKey({ attractor: "Orders", name: "o-1", nomosVersion: 1, nomosHash: "h" }, 12, 3)).toBe("msg:Orders/o-1:12.3");
  });

  it("a message may itself carry built-in steps of its own law", () => {
    const later: Intent = buildIntent(notes, (s) => s.$freeze({ delaySeconds: 60 }, (f) => f.addNote({ id: "n2", body: "later" })));
    expect(parseIntent(ledger, { v: 1, steps: [{ op: "$send", args: { to, intent: later } }] })).toMatchObject({ ok: true });
  });
});
