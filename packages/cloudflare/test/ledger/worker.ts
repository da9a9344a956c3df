import { parseIntent } from "@noema/core";
import type { LedgerAttractor } from "./attractor.js";
import { ledger } from "./vocabulary.js";

export { LedgerAttractor } from "./attractor.js";

export interface Env {
  LEDGER_ATTRACTOR: DurableObjectNamespace<LedgerAttractor>;
}

/** POST /<ledger name> with a wire-format Intent: 200 with the Seal, 409 for a refusal, 400 for a malformed Intent. */
export default {
  async fetch(request, env) {
    const name = new URL(request.url).pathname.slice(1);
    if (request.method !== "POST" || !name) return new Response("POST /<ledger> with an Intent\n", { status: 404 });
    const parsed = parseIntent(ledger, await request.json().catch(() => null));
    if (!parsed.ok) return Response.json({ issues: parsed.issues }, { status: 400 });
    const seal = await env.LEDGER_ATTRACTOR.getByName(name).sedimentation(parsed.value);
    return Response.json(seal, { status: seal.success ? 200 : 409 });
  },
} satisfies ExportedHandler<Env>;
