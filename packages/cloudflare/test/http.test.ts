import { env, SELF } from "cloudflare:test";
import { buildIntent, explain } from "@noema/core";
import { operationHash } from "@noema/core/runtime";
import { ApiError, attractorRoutes, bearerAuth, handleErrors, parseInput, queryInt, tokenAuth } from "@noema/cloudflare/http";
import { Hono } from "hono";
import { Hono as TinyHono } from "hono/tiny";
import { describe, expect, expectTypeOf, it } from "vitest";
import * as zc from "zod";
import * as zm from "zod/mini";
import { ledgerNomos } from "./ledger/nomos.js";
import { ledger } from "./ledger/vocabulary.js";

// The generic routes of @noema/cloudflare/http serving a second Attractor, the ledger (see worker.ts).
const TOKEN = "ledger-token";
const freshName = () => `ledger-${crypto.randomUUID()}`;

async function call(method: string, path: string, body?: unknown, authorization = `Bearer ${TOKEN}`) {
  const res = await SELF.fetch(`https://ledger.test${path}`, {
    method,
    headers: { Authorization: authorization },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const open = (holder: string) => buildIntent(ledger, (s) => void s.open({ holder }));

describe("attractorRoutes for any Attractor", () => {
  it("POST intents answers with the Seal; a refusal is the error envelope with its Seal", async () => {
    const name = freshName();
    const ok = await call("POST", `/api/ledgers/${name}/intents`, open("alice"));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ success: true, sedimentId: 1, outputs: [{ accountId: "acct-1-0" }], world: { attractor: "LedgerAttractor", name } });

    const missing = await call("POST", `/api/ledgers/${name}/intents`, buildIntent(ledger, (s) => void s.deposit({ accountId: "nobody", amount: 1 })));
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: "not_found", message: "account nobody does not exist" }, seal: { success: false, reason: { kind: "not_found" } } });

    const overdraft = await call("POST", `/api/ledgers/${name}/intents`, buildIntent(ledger, (s) => void s.transfer({ from: "acct-1-0", to: "acct-1-0", amount: 5 })));
    expect(overdraft.status).toBe(409);
    expect(overdraft.body.error.code).toBe("refused");
    expect(overdraft.body.seal.precedentId).toEqual(expect.any(Number));

    const bad = await call("POST", `/api/ledgers/${name}/intents`, { v: 1, steps: [{ op: "open", args: { holder: "" } }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "invalid_input", issues: [{ path: "steps.0.args.holder", message: expect.any(String) }] });
    expect(bad.body).not.toHaveProperty("seal");
  });

  it("serves the log, its verification, Precedents, Cryostasis and the law held", async () => {
    const name = freshName();
    for (const holder of ["a", "b", "c"]) expect((await call("POST", `/api/ledgers/${name}/intents`, open(holder))).status).toBe(200);
    const page = await call("GET", `/api/ledgers/${name}/sediments?limit=2`);
    expect(page.body.sediments.map((s: { sedimentId: number }) => s.sedimentId)).toEqual([1, 2]);
    expect(page.body.next).toBe(2);
    const verified = await call("GET", `/api/ledgers/${name}/verify`);
    expect(verified.body).toEqual({ ok: true, length: 3, head: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await call("GET", `/api/ledgers/${name}/precedents`)).body).toEqual({ precedents: [] });
    expect((await call("GET", `/api/ledgers/${name}/cryostasis`)).body).toEqual({ pending: [] });
    expect((await call("GET", `/api/ledgers/${name}/nomos`)).body).toMatchObject({ held: { name: "ledger", version: 1, hash: ledgerNomos.hash } });
  });

  it("explains, describes and connects the law its code declares", async () => {
    const intent = open("dave");
    const explained = await call("POST", "/api/explain", intent);
    expect(explained.body).toEqual(explain(ledger, intent, { now: explained.body.context.now, sedimentId: 0 }));

    const nomos = await call("GET", "/api/nomos");
    expect(nomos.body).toMatchObject({ name: "ledger", version: 1, hash: ledgerNomos.hash, versions: [{ version: 1, hash: ledgerNomos.hash }] });
    expect(Object.keys(nomos.body.operations)).toEqual(Object.keys(ledger.operations));
    expect(nomos.body.operations.open).toEqual({
      description: "Opens an empty account for a holder.",
      hash: operationHash(ledger.operations.open),
      args: expect.objectContaining({ type: "object", properties: { holder: { type: "string", minLength: 1, maxLength: 128 } }, required: ["holder"] }),
      output: expect.objectContaining({ type: "object", properties: { accountId: { type: "string" } } }),
    });
    expect((await call("POST", "/api/connection", { from: 1 })).body).toEqual({ type: "Flat", from: 1, to: 1, steps: [] });
  });

  it("checks the name with the default schema, and answers 405 with Allow for another method", async () => {
    const long = "n".repeat(129);
    const res = await call("GET", `/api/ledgers/${long}/verify`);
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: "name", message: expect.any(String) }]);
    const wrong = await call("DELETE", `/api/ledgers/${freshName()}/intents`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("Allow")).toBe("POST");
    expect(wrong.body.error.code).toBe("method_not_allowed");
  });

  it("answers 404 for a path no route begins, and 405 with Allow under every kind of route, routes added late included", async () => {
    // hono/tiny's router, as the template's: routes can still be added after a request.
    const app = new TinyHono();
    app.use("*", async (_, next) => next());
    app.get("/", (c) => c.text("home"));
    app.get("/things/:id", (c) => c.text("thing")).delete("/things/:id", (c) => c.text("gone"));
    app.route("/api", new TinyHono().post("/x", (c) => c.text("x")));
    handleErrors(app);
    const answer = async (method: string, path: string) => {
      const res = await app.request(path, { method });
      return { status: res.status, allow: res.headers.get("Allow"), code: ((await res.json()) as { error: { code: string } }).error.code };
    };
    expect(await answer("GET", "/nowhere")).toEqual({ status: 404, allow: null, code: "not_found" });
    expect(await answer("GET", "/things/1/more")).toEqual({ status: 404, allow: null, code: "not_found" });
    expect(await answer("POST", "/things/1")).toEqual({ status: 405, allow: "GET, DELETE", code: "method_not_allowed" });
    expect(await answer("PUT", "/api/x")).toEqual({ status: 405, allow: "POST", code: "method_not_allowed" });
    expect(await answer("POST", "/")).toEqual({ status: 405, allow: "GET", code: "method_not_allowed" });
    // A route added after the first miss, then one whose first segment is a parameter.
    app.post("/late", (c) => c.text("late"));
    expect(await answer("GET", "/late")).toEqual({ status: 405, allow: "POST", code: "method_not_allowed" });
    app.put("/:name", (c) => c.text("named"));
    expect(await answer("GET", "/nowhere")).toEqual({ status: 405, allow: "PUT", code: "method_not_allowed" });
  });

  it("runs its auth middleware: 401 without the token, in any scheme case with it; 503 when the Worker has none", async () => {
    const name = freshName();
    for (const authorization of ["", "Bearer wrong", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const res = await call("GET", `/api/ledgers/${name}/verify`, undefined, authorization);
      expect(res.status, authorization).toBe(401);
      expect(res.body).toEqual({ error: { code: "unauthorized", message: "send Authorization: Bearer <LEDGER_TOKEN>" } });
    }
    expect((await call("GET", `/api/ledgers/${name}/verify`, undefined, `bearer ${TOKEN}`)).status).toBe(200);
    const unset = await call("GET", `/unset/${name}/verify`);
    expect(unset.status).toBe(503);
    expect(unset.body).toEqual({ error: { code: "not_configured", message: "UNSET_TOKEN is not set on this Worker" } });
  });

  it("serves alone as well as mounted: its own router is built on its first match", async () => {
    const alone = attractorRoutes<{ Bindings: Cloudflare.Env & { LEDGER_TOKEN?: string } }>({ namespace: (e) => e.LEDGER_ATTRACTOR, law: ledger, auth: tokenAuth({ secret: "LEDGER_TOKEN" }) });
    const nomos = await alone.request("/nomos", { headers: { authorization: `Bearer ${TOKEN}` } }, env);
    expect(nomos.status).toBe(200);
    expect(await nomos.json()).toMatchObject({ name: ledgerNomos.name, version: ledgerNomos.version });
    expect((await alone.request(`/${freshName()}/verify`, {}, env)).status).toBe(401);
    expect((await alone.request(`/${freshName()}/verify`, { headers: { authorization: `Bearer ${TOKEN}` } }, env)).status).toBe(200);
  });

  it("keeps bearerAuth one release as a deprecated alias of tokenAuth", () => {
    expect(bearerAuth).toBe(tokenAuth);
  });

  it("accepts every comma-separated token; read tokens read and explain but get 403 on a write", async () => {
    const name = freshName();
    // Rotation: the old and the new full-access token both write.
    for (const token of ["ledger-token", "ledger-next"]) {
      expect((await call("POST", `/api/ledgers/${name}/intents`, open(token), `Bearer ${token}`)).status, token).toBe(200);
    }
    for (const token of ["reader-1", "reader-2"]) {
      const auth = `Bearer ${token}`;
      const log = await call("GET", `/api/ledgers/${name}/sediments`, undefined, auth);
      expect(log.status, token).toBe(200);
      expect(log.body.sediments).toHaveLength(2);
      expect((await call("POST", "/api/explain", open("carol"), auth)).status).toBe(200);
      expect((await call("POST", "/api/connection", { from: 1 }, auth)).status).toBe(200);
      const write = await call("POST", `/api/ledgers/${name}/intents`, open("mallory"), auth);
      expect(write.status).toBe(403);
      expect(write.body).toEqual({ error: { code: "forbidden", message: "a token of LEDGER_READ_TOKENS may only read; writes need LEDGER_TOKEN" } });
    }
    // A list's pieces are tokens, never the list itself or an empty piece.
    for (const authorization of ["Bearer ledger-token, ledger-next", "Bearer reader-1,reader-2", "Bearer ,"]) {
      expect((await call("GET", `/api/ledgers/${name}/verify`, undefined, authorization)).status, authorization).toBe(401);
    }
    expect((await call("GET", `/api/ledgers/${name}/sediments`)).body.sediments).toHaveLength(2);
  });
});

describe("parseInput and queryInt, with classic zod or zod/mini", () => {
  const refused = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return { status: e.status, code: e.code, message: e.message, issues: e.extra.issues };
    }
    throw new Error("not refused");
  };
  const classic = zc.strictObject({ amount: zc.number().int(), page: zc.strictObject({ limit: queryInt({ min: 1, max: 50, default: 10 }) }) });
  const mini = zm.strictObject({ amount: zm.int(), page: zm.strictObject({ limit: queryInt({ min: 1, max: 50, default: 10 }) }) });

  it("infers the output and fills defaults in either", () => {
    for (const schema of [classic, mini]) {
      const value = parseInput(schema, { amount: 3, page: {} });
      expectTypeOf(value).toEqualTypeOf<{ amount: number; page: { limit: number } }>();
      expect(value).toEqual({ amount: 3, page: { limit: 10 } });
      expect(parseInput(schema, { amount: 3, page: { limit: "50" } }).page.limit).toBe(50);
    }
    expect(parseInput(zm.optional(queryInt({ min: 1 })), undefined)).toBeUndefined();
  });

  it("answers 400 invalid_input naming each field, a misspelt one first with the nearest name, under `at`", () => {
    for (const schema of [classic, mini]) {
      const bad = refused(() => parseInput(schema, { amount: 1.5, page: { limt: "5" } }, ["body"]));
      expect(bad).toEqual({
        status: 400,
        code: "invalid_input",
        message: 'body.page.limt: unknown field "limt"; did you mean "limit"?',
        issues: [
          { path: "body.page.limt", message: 'unknown field "limt"; did you mean "limit"?' },
          { path: "body.amount", message: expect.stringContaining("int") },
        ],
      });
      for (const limit of ["0", "51", "abc", "1.5"]) {
        expect(refused(() => parseInput(schema, { amount: 1, page: { limit } })).issues).toEqual([{ path: "page.limit", message: "must be a whole number, 1 to 50" }]);
      }
    }
  });

  it("answers with the error envelope under Hono's default error handler too (an app without handleErrors)", async () => {
    const app = new Hono().post("/", (c) => c.json(parseInput(zm.strictObject({ amount: zm.int() }), { amount: "2" }, ["body"])));
    const res = await app.request("/", { method: "POST" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: "invalid_input", message: expect.stringMatching(/^body\.amount: /), issues: [{ path: "body.amount", message: expect.any(String) }] },
    });
  });
});
