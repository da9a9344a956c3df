import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as core from "@noema/core";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const key = (name: string) => name.replace("type ", "").toLowerCase();

/** Every name an entry point exports, types marked `type `, sorted: the public surface as TypeScript sees it. */
function exportsOf(file: string): string[] {
  // The inspector's pages are Hono JSX.
  const program = ts.createProgram([file], { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2023, strict: true, jsx: ts.JsxEmit.ReactJSX, jsxImportSource: "hono/jsx", types: [], noEmit: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  return checker
    .getExportsOfModule(module)
    .map((e) => {
      const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      return target.flags & ts.SymbolFlags.Value ? e.name : `type ${e.name}`;
    })
    .sort((a, b) => (key(a) === key(b) ? (a < b ? -1 : 1) : key(a) < key(b) ? -1 : 1));
}

// A new export is a deliberate change to a published package: add it here in the same commit.
describe("entry points", () => {
  it("@noema/core exports what writing a law takes, and nothing else", () => {
    expect(exportsOf(here("../../core/src/index.ts"))).toStrictEqual([
    "addColumnSql", "type AnyColumn", "type ArgHole", "type Args", "type ArgsWithRefs", "type ArgValue", "blob",
    "type BoundHole", "buildIntent", "type BuildOptions", "type BuiltIntent", "type CarryStep", "type Change",
    "type ChangeKind", "type Checkpoint", "type CheckSpec", "type ColumnList", "columnsOf", "type ColumnSpec",
    "type ColumnType", "type ComputedHole", "type ComputedParam", "connection", "type Connection", "connectionFor",
    "type ConnectionReport", "type ConnectionType", "type ContextHole", "createIndexSql", "createTableSql",
    "DEFAULT_LIMITS", "defineNomos", "definePublication", "defineVocabulary", "describeVocabulary",
    "type ElementKey", "type Evolution", "type EvolutionHints", "type Expectation", "explain",
    "type ExplainedStatement", "explainOutside", "type ExplainResult", "type Explanation", "type FootprintLaws", "type FootprintTable",
    "formatIssues", "formatPath", "type FreezeArgs", "type FreezeResult", "type FrozenStepBuilder", "type Hole",
    "type IndexSpec", "type InferRow", "integer", "type Intent", "type IntentLimits", "type IntentStep",
    "IntentValidationError", "type InterpretationContext", "type InvariantScope", "type InvariantSpec", "type Issue",
    "type IssuePath", "type Json", "type JsonArray", "type JsonObject", "type LatestOf", "Lineage", "lineage",
    "LineageDefinitionError", "MAX_ARRAY_LENGTH", "MAX_BOUND_PARAMETERS", "MAX_FREEZE_MS", "MAX_INTENT_BYTES",
    "MAX_KEY_LENGTH", "MAX_STEPS", "MAX_STRING_LENGTH", "MAX_TARGET_NAME", "type Message", "type Nomos",
    "NomosDefinitionError", "type NomosSpec", "type NomosStamp", "type ObjectSchema", "operation",
    "type OperationDescription", "type OperationSpec", "type Origin", "type OutputRef", "type OutputRefs",
    "parseClaimed", "parseIntent", "type ParseResult", "type Phase", "type Policy", "type Precedent",
    "type Provisions", "type Publication", "PublicationDefinitionError", "type PublicationSpec", "real",
    "type Reason", "REASON_KINDS", "type ReasonKind", "rebuildTableSql", "type Receipt", "type Ref",
    "type ReforgeContext", "type RefusalSeal", "registerFootprints", "resultOf", "type ResultOf", "type Row",
    "type RowOf", "type RowsOf", "safeBuildIntent", "type Seal", "type SealOrigin", "type Sediment", "type SendArgs",
    "type Sieve", "SieveDerivationError", "sql", "type SqlValue", "type Statement", "type Statements",
    "type StatementTools", "type StepBuilder", "type SuccessSeal", "type TablePublication", "type TableSpec", "text",
    "type Verification", "type Vocabulary", "VocabularyDefinitionError", "type WakeOutcome", "type World",
    ]);
  });

  it("@noema/core/runtime exports what a host needs to run a law: the Sedimenter and what driving it takes", () => {
    expect(exportsOf(here("../../core/src/runtime.ts"))).toStrictEqual([
    "type AlarmChore", "type AppliedNomos", "applyLineage", "Archive", "type ArchiveBreak", "type ArchivedSegment",
    "type ArchivedVerification", "type ArchiveOptions", "type ArchiveReport", "audit", "AUDIT_PAGE",
    "type AuditFinding", "type AuditPage", "balanceMarks", "bindParams", "builtinSha256Hex", "type CapturedSediment", "carry", "type ChainLink",
    "ChangeCapture", "createInternalTables", "DEFAULT_PAGE", "DEFAULT_PRECEDENT_RETENTION_MS",
    "DEFAULT_SEGMENT_AGE_MS", "DEFAULT_SEGMENT_ENTRIES", "FULL_VERIFY_EVERY", "GENESIS_HASH", "type HeldTable", "installScopes",
    "intentSieve", "interpret", "isBuiltinOp", "MAX_MESSAGE_ATTEMPTS", "MAX_PAGE", "MESSAGE_BATCH",
    "MESSAGE_CONCURRENCY", "MigrationError", "type MigrationState", "movedBalance", "nomosHistory",
    "type ObjectStorePort", "once", "operationHash", "type OutboxEntry", "OutboxStore", "parseClaimedOnce", "predictionPlan", "type PredictionPlan", "type PublishedTable",
    "type ReceiptRecord", "Refusal", "Sedimenter", "type SedimenterOptions", "sedimentHash", "type SedimentHost",
    "SedimentLog", "type SegmentKind", "type SegmentManifest", "sha256Halves", "type Sha256Hex", "type SqlExecutor", "sqlValueOf", "SYNC_DDL",
    "SYNC_RETAINED", "tablesOfInvariants", "textHash", "type UnseenElement", "useSha256", "Verifier", "type VerifyPass",
    "type VerifySlice", "WAKE_BATCH",
    ]);
  });

  it("@noema/core/sql installs the SQL parser and derives what noema build writes", () => {
    expect(exportsOf(here("../../core/src/sql.ts"))).toStrictEqual(["footprintLaws", "type FootprintLaws", "footprintTable", "type FootprintTable"]);
  });

  it("@noema/core/check exports the model checker", () => {
    expect(exportsOf(here("../../core/src/check.ts"))).toStrictEqual([
    "type ActionArgs", "type ActionSpec", "check", "type CheckDatabase", "type CheckDefinition",
    "type CheckKind", "type CheckOptions", "type CheckReport", "type CheckResult", "CheckSetupError",
    "type Counterexample", "type CounterexampleStep", "DEFAULT_DEPTH", "DEFAULT_START", "defineCheck",
    "type Domain", "type Domains", "type DomainValue", "formatReport", "type LivenessProperty", "MAX_DEPTH",
    "type OpsOf", "type Progress", "type RowChange", "type SafetyProperty", "type VersionStats",
    ]);
  });

  it("@noema/core/internal holds only what the other packages' tests and the bench reach, and no public name", () => {
    const internal = exportsOf(here("../../core/src/internal.ts"));
    expect(internal).toStrictEqual([
    "backoffMs", "canonicalJson", "constraintReason", "countPlaceholders", "CryostasisStore", "deriveDomain",
    "diffNomos", "FORMAT_VERSION", "hashCanonicalSediment", "MAX_SHAPES", "MAX_WAKE_ATTEMPTS", "scaledBackoffMs",
    "SCOPE_MARKS_KEPT", "sha256Hex", "SLICE_TARGET_MS", "VERIFY_SLICE", "verifySchema", "worldHash",
    ]);
    const published = ["index", "runtime", "check"].flatMap((e) => exportsOf(here(`../../core/src/${e}.ts`)));
    expect(internal.filter((n) => published.includes(n))).toStrictEqual([]);
  });

  it("the Intent limits have one home, DEFAULT_LIMITS; the old constants are deprecated aliases of it", () => {
    expect([core.MAX_STEPS, core.MAX_INTENT_BYTES, core.MAX_STRING_LENGTH, core.MAX_ARRAY_LENGTH]).toStrictEqual([
      core.DEFAULT_LIMITS.maxSteps,
      core.DEFAULT_LIMITS.maxBytes,
      core.DEFAULT_LIMITS.maxStringLength,
      core.DEFAULT_LIMITS.maxArrayLength,
    ]);
  });

  it("@noema/cloudflare exports the Attractor and the types its RPC methods answer with", () => {
    expect(exportsOf(here("../../cloudflare/src/index.ts"))).toStrictEqual([
    "ALARM_RETRY_MS", "type AlarmOwnedByAttractor", "Attractor", "AttractorDefinitionError",
    "type AttractorOf", "type AttractorStatics", "type ChainStatus", "DEFAULT_DELIVERY", "type DeliveryOptions",
    "type FreezeWhen", "type FrozenEntry", "type FrozenSummary", "type NomosReport", "type OutboxEntry",
    "type OutboxMessage", "type Query", "type ReceiptEntry", "type RowsPage", "SYNC_LINGER_MS", "type SyncGrant",
    "type TableInfo", "type TailCheck",
    ]);
  });

  it("@noema/cloudflare/http exports the Hono layer; tokenAuth, with bearerAuth its deprecated alias", () => {
    expect(exportsOf(here("../../cloudflare/src/http/index.ts"))).toStrictEqual([
    "ApiError", "attractorRoutes", "type AttractorRoutesOptions", "bearerAuth", "type BearerAuthOptions",
    "type ErrorBody", "errorResponse", "handleErrors", "httpIssue", "type HttpIssue", "invalidInput",
    "isReadRequest", "limitBody", "MAX_BODY_BYTES", "notFound", "onError", "parseInput", "queryInt", "readJson",
    "refusalError", "sealResponse", "syncRoutes", "type SyncRoutesOptions", "tokenAuth", "type TokenAuthOptions",
    "tokenScope", "type TokenScope", "tokensEqual",
    ]);
  });

  it("@noema/inspector exports the inspector and what an app's charts and overview are typed with", () => {
    expect(exportsOf(here("../../inspector/src/index.ts"))).toStrictEqual(["type ChartSpec", "inspector", "type InspectorOptions", "type Overview", "type OverviewCell", "type OverviewContext"]);
  });

  it("@noema/inspector sits above @noema/cloudflare: the Cloudflare layer neither imports nor exports it", () => {
    const cloudflare = JSON.parse(readFileSync(here("../../cloudflare/package.json"), "utf8")) as { exports: Record<string, unknown>; dependencies?: Record<string, string> };
    expect(Object.keys(cloudflare.exports)).not.toContain("./inspector");
    expect(Object.keys(cloudflare.dependencies ?? {})).not.toContain("@noema/inspector");
    const sources = readdirSync(here("../../cloudflare/src"), { recursive: true, encoding: "utf8" }).filter((f) => /\.tsx?$/.test(f));
    expect(sources.length).toBeGreaterThan(5);
    expect(sources.filter((f) => /from "(@noema\/inspector|\.\.?\/.*inspector\/)/.test(readFileSync(here(`../../cloudflare/src/${f}`), "utf8")))).toStrictEqual([]);
    const inspector = JSON.parse(readFileSync(here("../../inspector/package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(Object.keys(inspector.dependencies)).toContain("@noema/cloudflare");
  });

  it("@noema/core/sync exports the sync protocol", () => {
    expect(exportsOf(here("../../core/src/sync.ts"))).toStrictEqual([
    "type ClientFrame", "type DeleteChange", "type DiffFrame", "diffFrames", "type ErrorFrame", "fitsServerFrame", "type HelloFrame", "joinDiff", "joinSnapshot", "type LawStamp",
    "MAX_SERVER_FRAME_BYTES", "MAX_SYNC_FRAME_BYTES", "parseClientFrame", "parseServerFrame", "type SealFrame", "type SendFrame",
    "type ServerFrame", "type SnapshotFrame", "snapshotFrames", "type SnapshotTable", "SYNC_CLOSE", "SYNC_ERROR", "SYNC_GENESIS", "SYNC_PROTOCOL", "SYNC_SUBPROTOCOL",
    "type SyncChange", "type SyncCloseCode", "type SyncCursor", "type SyncErrorCode", "type UpsertChange", "type WelcomeFrame",
    ]);
  });

  it("@noema/core/escrow and @noema/cloudflare/escrow export hot Worlds; the main entries leave them out", () => {
    expect(exportsOf(here("../../core/src/escrow/index.ts"))).toStrictEqual([
      "escrow", "escrowLaw", "escrowNomos", "escrowQuantity", "type EscrowVocabulary", "MAX_SHARDS", "NO_STOCK", "splittable", "type Splittable",
    ]);
    expect(exportsOf(here("../../cloudflare/src/escrow.ts"))).toStrictEqual([
      "EscrowAttractor", "type HotProduct", "type HotReservation", "pickShard", "type Settlement", "SHARD_SEPARATOR", "shardName", "type ShardOptions", "type ShardShare", "type ShareRead", "type StuckMove", "type WorldLaw",
    ]);
    expect(exportsOf(here("../../core/src/index.ts"))).not.toContain("escrow");
    expect(exportsOf(here("../../cloudflare/src/index.ts"))).not.toContain("EscrowAttractor");
  });

  it("@noema/cloudflare/archive exports the R2 archive; the Attractor imports it for its types only", () => {
    expect(exportsOf(here("../../cloudflare/src/archive.ts"))).toStrictEqual(["archive", "type ArchiveFeature", "type ArchiveSettings", "r2Store"]);
    const attractor = readFileSync(here("../../cloudflare/src/attractor.ts"), "utf8");
    expect(attractor.match(/^import .*"\.\/archive\.js";$/gm)).toStrictEqual(['import type { ArchiveFeature } from "./archive.js";']);
  });

  it("@noema/client and its subpaths export the sync client, its databases and queues, and the React hooks", () => {
    expect(exportsOf(here("../../client/src/index.ts"))).toStrictEqual([
    "type ClientOptions", "type ClientState", "type ClientStatus", "type LiveQuery", "memoryQueue", "NoemaClient", "params",
    "type Prediction", "type QueuedIntent", "type ReplicaDatabase", "type SendQueue", "type Sent", "type Settled", "SyncError", "type SyncSocket",
    ]);
    expect(exportsOf(here("../../client/src/node.ts"))).toStrictEqual(["openNodeDatabase", "sqliteQueue"]);
    expect(exportsOf(here("../../client/src/browser.ts"))).toStrictEqual(["indexedDbQueue", "openBrowserDatabase"]);
    expect(exportsOf(here("../../client/src/react.ts"))).toStrictEqual(["useClientState", "useLiveQuery", "useSend"]);
  });

  it("@noema/cloudflare/testing exports the testing kit; the main entry leaves its registry out", () => {
    expect(exportsOf(here("../../cloudflare/src/testing/index.ts"))).toStrictEqual(["type IntentInput", "testWorld", "type TestWorld", "type TestWorldOptions"]);
    expect(exportsOf(here("../../cloudflare/src/index.ts"))).not.toContain("worldsUnderTest");
  });

  it("the built package loads in plain Node 22 and builds an Intent", () => {
    // The workspace link resolves @noema/core as an installed package would: to dist/ (built by `npm test`).
    // A script reads its law's SQL with the parser (a Worker carries what noema build derived instead).
    const script = `
      import "@noema/core/sql";
      import { buildIntent, defineNomos, defineVocabulary, integer, operation, sql, text } from "@noema/core";
      import * as z from "zod";
      const nomos = defineNomos({ name: "n", version: 1, tables: { t: { columns: { id: text().primaryKey(), v: integer().notNull() } } } });
      const law = defineVocabulary(nomos, { put: operation({ description: "puts", args: z.object({ id: z.string() }), output: z.object({}),
        statements: ({ arg }) => ({ put: sql\`INSERT INTO t (id, v) VALUES (\${arg.id}, 1)\` }), result: () => ({}) }) });
      console.log(JSON.stringify(buildIntent(law, (s) => void s.put({ id: "a" }))));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: here(".."), encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ nomos: { name: "n", version: 1 }, steps: [{ op: "put", args: { id: "a" } }] });
  });
});
