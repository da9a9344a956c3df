// Type-level test, checked by `npm run typecheck` (not run): every Attractor RPC method called on
// the plain native stub of a `DurableObjectNamespace<LedgerAttractor>`, as `wrangler types`
// declares it, type-checks and returns the method's own result type.
import { env } from "cloudflare:test";
import { columnsOf, type ExplainResult, type Intent, lineage, type Precedent, type Reason, type Row, type Seal, type Sediment, type Verification } from "@noema/core";
import { Attractor, type FrozenEntry, type NomosReport } from "@noema/cloudflare";
import type { ArchivedSegment, ArchiveReport } from "@noema/core/runtime";
import type { Account } from "./ledger/attractor.js";
import { ledgerNomos } from "./ledger/nomos.js";
import { ledger } from "./ledger/vocabulary.js";

/** True when each of A and B is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** An RPC result without the `Disposable` the stub adds to object and array results. */
type Plain<T> = T extends unknown ? (T extends readonly (infer E)[] ? E[] : T extends object ? Omit<T, keyof Disposable> : T) : never;
type Result<F extends (...args: never[]) => unknown> = Plain<Awaited<ReturnType<F>>>;
const same = <_ extends true>() => undefined;

const stub = env.LEDGER_ATTRACTOR.getByName("types");
type Stub = typeof stub;
declare const intent: Intent;

export async function calls() {
  same<Same<Result<Stub["sedimentation"]>, Seal>>();
  same<Same<Result<Stub["explain"]>, ExplainResult>>();
  same<Same<Result<Stub["sediments"]>, { sediments: Sediment[]; next?: number }>>();
  same<Same<Result<Stub["precedents"]>, { precedents: Precedent[]; next?: number }>>();
  same<Same<Result<Stub["verify"]>, Verification & { archive?: ArchiveReport }>>();
  same<Same<Result<Stub["archiveSegments"]>, ArchivedSegment[]>>();
  same<Same<Result<Stub["nomos"]>, NomosReport>>();
  same<Same<Result<Stub["frozen"]>, FrozenEntry[]>>();
  same<Same<Result<Stub["cancelFrozen"]>, boolean>>();
  same<Same<Result<Stub["accounts"]>, Account[]>>();

  // Results narrow as they do in the Attractor itself.
  const seal = await stub.sedimentation(intent);
  if (seal.success) same<Same<typeof seal.sedimentId, number>>();
  else same<Same<typeof seal.reason, Reason>>();
  await stub.freeze(intent, { delaySeconds: 60, key: "k" });
  await stub.precedents({ kind: "constraint", limit: 10 });
  // @ts-expect-error not a reason kind
  await stub.precedents({ kind: "bogus" });
  // @ts-expect-error protected: not part of the RPC surface
  await stub.query("SELECT 1");
}

// That overriding alarm() does not type-check is shown in alarm/attractors.ts.

// Attractor.of(law): `static law` is the law given, and `this.vocabulary` is typed from it (a
// Lineage's newest version), so the class's type and its law cannot disagree. `this.query` is typed.
export class TypedLedger extends Attractor.of(ledger)<{ TOKEN: string }> {
  reads() {
    same<Same<typeof this.vocabulary, typeof ledger>>();
    same<Same<typeof this.env, { TOKEN: string }>>();
    const accounts = this.query(columnsOf(ledgerNomos, "accounts", "id", "balance"), "FROM accounts WHERE id = ?", "a");
    same<Same<typeof accounts, { id: string; balance: number }[]>>();
    const counted = this.query<{ n: number }>("SELECT COUNT(*) AS n FROM accounts");
    same<Same<typeof counted, { n: number }[]>>();
    const plain = this.query("SELECT 1 AS one");
    same<Same<typeof plain, Row[]>>();
    // @ts-expect-error the table has no such column
    columnsOf(ledgerNomos, "accounts", "nope");
    return { accounts, counted, plain };
  }
}
same<Same<typeof TypedLedger.law, typeof ledger>>();

const ledgerLaw = lineage(ledger);
export class LineageLedger extends Attractor.of(ledgerLaw) {
  reads() {
    same<Same<typeof this.vocabulary, typeof ledger>>();
  }
}
