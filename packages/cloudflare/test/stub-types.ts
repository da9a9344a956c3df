import { env } from "cloudflare:test";
import type { Seal, Sediment, Intent } from "@noema/core";

export async function check(intent: Intent) {
  const stub = env.LEDGER_ATTRACTOR.getByName("x");
  const seal = await stub.sedimentation(intent);
  const s: Seal = seal;
  const page = await stub.sediments(0, 10);
  const sed: Sediment[] = page.sediments;
  const ex = await stub.explain(intent);
  const p = await stub.precedents({});
  const n = await stub.nomos();
  const f = await stub.frozen();
  const v = await stub.verify();
  const a = await stub.accounts();
  return [s, sed, ex, p, n, f, v, a];
}
