import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import type { Precedent, Seal, Sediment, Verification } from "@noema/core";
import type { InventoryAttractor, ProductSnapshot } from "../src/attractor.js";

export const TOKEN = "test-token";
/** A read-only token, as vitest.config.ts binds it to NOEMA_READ_TOKENS. */
export const READ_TOKEN = "read-token";
let counter = 0;
/** A product id no other test uses, so tests never share an Attractor. */
export const freshProduct = (label = "p") => `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** Calls the Worker through SELF.fetch, authorized unless `headers` overrides Authorization. */
export async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${TOKEN}`, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const res = await SELF.fetch(`https://noema.test${path}`, init);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, body: json };
}

/** Every namespace of the test Worker holds InventoryAttractors: the app's class or a test subclass of it. */
export type InventoryNamespace = DurableObjectNamespace<InventoryAttractor>;

/** The product's Attractor: the native Durable Object stub, for RPC and `runInDurableObject`. */
export const attractor = (productId: string, namespace: InventoryNamespace = env.INVENTORY_ATTRACTOR) => namespace.getByName(productId);

export interface Observation {
  snapshot: ProductSnapshot | null;
  sediments: Sediment[];
  precedents: Precedent[];
  verify: Verification;
}

/** Everything a request could change, read over RPC: compare before and after to prove nothing moved. */
export async function observe(productId: string, namespace?: InventoryNamespace): Promise<Observation> {
  const rpc = attractor(productId, namespace);
  const sediments: Sediment[] = [];
  for (let after = 0; ; ) {
    const page = await rpc.sediments(after, 1000);
    sediments.push(...page.sediments);
    if (page.next === undefined) break;
    after = page.next;
  }
  const [snapshot, precedents, verify] = await Promise.all([rpc.snapshot(), rpc.precedents({ limit: 1000 }).then((page) => page.precedents), rpc.verify()]);
  return { snapshot, sediments, precedents, verify };
}

/** The body every error response carries: `{error: {code, message, issues?: [{path, message}]}}`. */
export function expectError(res: ApiResponse, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(res.body.error).toMatchObject({ code, message: expect.stringMatching(/\S/) });
  const { issues } = res.body.error;
  if (issues !== undefined) {
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) expect(issue).toEqual({ path: expect.any(String), message: expect.stringMatching(/\S/) });
  }
}

/** The Seal of a sedimentation that must have committed. */
export function success(seal: Seal): Extract<Seal, { success: true }> {
  if (!seal.success) throw new Error(`expected success, got ${JSON.stringify(seal.reason)}`);
  return seal;
}

/** The Seal of a sedimentation that must have been refused. */
export function refusal(seal: Seal): Extract<Seal, { success: false }> {
  if (seal.success) throw new Error(`expected a refusal, got sediment ${seal.sedimentId}`);
  return seal;
}
