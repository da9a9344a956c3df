import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const key = (name: string) => name.replace("type ", "").toLowerCase();

/** Every name an entry point exports, types marked `type `, sorted: the public surface as TypeScript sees it. */
function exportsOf(file: string): string[] {
  const program = ts.createProgram([file], { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2023, strict: true, types: [], noEmit: true });
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
  it("@noema/core exports the authoring API and nothing else", () => {
    expect(exportsOf(here("../../core/src/index.ts"))).toStrictEqual([
    "addColumnSql", "type AnyColumn", "type ArgHole", "type Args", "type ArgsWithRefs", "type ArgValue", "blob",
    "type BoundHole", "buildIntent", "type BuildOptions", "type BuiltIntent", "CANCEL", "type CarryResult",
    "type CarryStep", "type Change", "type ChangeKind", "type Checkpoint", "type CheckSpec", "Column",
    "type ColumnList", "columnsOf", "type ColumnSpec", "type ColumnType", "type ComputedHole", "type ComputedParam", "connection",
    "type Connection", "connectionFor", "type ConnectionReport", "type ConnectionType", "type ContextHole",
    "createIndexSql", "createTableSql", "DEFAULT_LIMITS", "defineNomos", "defineVocabulary",
    "describeVocabulary", "type ElementKey", "type Evolution", "type EvolutionHints", "type Expectation",
    "explain", "type ExplainedStatement", "explainOutside", "type ExplainResult", "type Explanation",
    "type FootprintTable", "formatIssues", "formatPath", "FREEZE", "type FreezeArgs", "type FreezeResult",
    "type FrozenStepBuilder", "type Hole", "type IndexSpec", "type InferRow", "integer", "type Intent",
    "type IntentLimits", "type IntentStep", "IntentValidationError", "type InterpretationContext",
    "type InvariantScope", "type InvariantSpec", "issue", "type Issue", "type IssuePath", "type Json",
    "type JsonArray", "type JsonObject", "type LatestOf", "Lineage", "lineage", "LineageDefinitionError",
    "MAX_ARRAY_LENGTH", "MAX_BOUND_PARAMETERS", "MAX_FREEZE_MS", "MAX_INTENT_BYTES", "MAX_KEY_LENGTH", "MAX_STEPS",
    "MAX_STRING_LENGTH", "MAX_TARGET_NAME", "type Message", "type Nomos", "NomosDefinitionError",
    "type NomosSpec", "type NomosStamp", "type ObjectSchema", "operation", "type OperationDescription",
    "type OperationSpec", "type Origin", "type OutputRef", "type OutputRefs", "parseClaimed",
    "parseIntent", "type ParseResult", "type Phase", "type Policy", "type Precedent", "type Provisions",
    "real", "type Reason", "REASON_KINDS", "type ReasonKind", "rebuildTableSql", "type Receipt",
    "type Ref", "type ReforgeContext", "type RefusalSeal", "registerFootprints", "resultOf", "type ResultOf", "type Row",
    "type RowOf", "type RowsOf", "safeBuildIntent", "type Seal", "type SealOrigin", "type Sediment",
    "SEND", "type SendArgs", "type Sieve", "SieveDerivationError", "sql", "type SqlValue",
    "type Statement", "type Statements", "type StatementTools", "type StepBuilder", "type SuccessSeal",
    "type TableSpec", "text", "type Verification", "type Vocabulary", "VocabularyDefinitionError",
    "type WakeOutcome", "type World",
    ]);
  });

  it("@noema/core/runtime exports what a host needs to run a law", () => {
    expect(exportsOf(here("../../core/src/runtime.ts"))).toStrictEqual([
    "type Admission", "admissionIssues", "type AdmissionOptions", "admit", "type AlarmChore",
    "type AppliedNomos", "applyLineage", "Archive", "type ArchiveBreak", "type ArchivedSegment",
    "type ArchivedVerification", "type ArchiveOptions", "type ArchiveReport", "argsSchema", "audit",
    "AUDIT_PAGE", "type AuditFinding", "type AuditPage", "backoffMs", "bindParams", "BUILTIN_STEPS",
    "type BuiltinHost", "type BuiltinRun", "type BuiltinStatement", "builtinStep", "type BuiltinStep",
    "CANCEL_SQL", "canonicalJson", "type CanonicalSediment", "carriedSteps", "carry", "type ChainLink",
    "checkOpArgs", "checkStepArgs", "claimedVersion", "constraintReason", "contentHash",
    "countPlaceholders", "createInternalTables", "CRYOSTASIS_DDL", "CryostasisStore", "DEFAULT_PAGE",
    "DEFAULT_PRECEDENT_RETENTION_MS", "DEFAULT_SEGMENT_AGE_MS", "DEFAULT_SEGMENT_ENTRIES", "definedArgs",
    "derivedMessageKey", "diffNomos", "diffVocabulary", "type Envelope", "type Footprint",
    "FORMAT_VERSION", "FREEZE_SQL", "FreezeKeyConflict", "type FreezeRequest", "type FrozenEntry",
    "frozenFromStep", "FULL_VERIFY_EVERY", "GENESIS_HASH", "hashCanonicalSediment", "holeStructure",
    "installScopes", "intentSieve", "interpret", "isBuiltinOp", "isRef", "keyIssue", "latestApplied",
    "limitIssues", "looksLikeRef", "MAX_MESSAGE_ATTEMPTS", "MAX_NAME_LENGTH", "MAX_PAGE",
    "MAX_WAKE_ATTEMPTS", "MESSAGE_BATCH", "MESSAGE_CONCURRENCY", "MESSAGE_DDL", "type MessageTarget",
    "MigrationError", "type MigrationState", "type NeedsOf", "nobleSha256Hex", "nomosHistory",
    "nomosStamp", "normalizeSql", "type NotBindable", "type ObjectStorePort", "operationFootprint",
    "operationHash", "operationOutputs", "operationSchemas", "operationsOf", "type OutboxEntry",
    "OutboxStore", "outputsOf", "parseEnvelope", "phaseAt", "prefixIssues", "type ReceiptRecord",
    "recordApplied", "refIssues", "Refusal", "resolveArgs", "resolveValue", "scaledBackoffMs",
    "SCOPE_MARKS_KEPT", "Sedimenter", "type SedimenterOptions", "sedimentHash", "type SedimentHost",
    "SedimentLog", "type SedimentSource", "type SegmentKind", "type SegmentManifest", "SEND_SQL",
    "sha256Hex", "type Sha256Hex", "sieveHash", "sieveOf", "sizeIssue", "type SqlExecutor",
    "statementFootprint", "statementsOf", "stepLimitIssues", "stepSchema", "stepScope", "type StepScope",
    "strictArgs", "tablesOfInvariants", "textHash", "unknownOperation", "useSha256", "Verifier",
    "VERIFY_DDL", "VERIFY_SLICE", "type VerifyPass", "verifySchema", "type VerifySlice", "WAKE_BATCH",
    "wakeTime", "type WakeWhen", "worldHash", "zodIssues",
    ]);
  });

  it("@noema/core/sql installs the SQL parser and derives what noema build writes", () => {
    expect(exportsOf(here("../../core/src/sql.ts"))).toStrictEqual(["footprintTable", "type FootprintTable"]);
  });

  it("@noema/core/check exports the model checker", () => {
    expect(exportsOf(here("../../core/src/check.ts"))).toStrictEqual([
    "type ActionArgs", "type ActionSpec", "BUILTIN_CHECKS", "check", "type CheckDatabase",
    "type CheckDefinition", "type CheckKind", "type CheckOptions", "type CheckReport", "type CheckResult",
    "CheckSetupError", "type Counterexample", "type CounterexampleStep", "DEFAULT_DEPTH",
    "DEFAULT_ID_POOLS", "DEFAULT_START", "defineCheck", "deriveDomain", "type Domain", "type Domains", "type DomainValue",
    "formatReport", "type LivenessProperty", "MAX_DEPTH", "type OpsOf", "type Progress", "type RowChange",
    "type SafetyProperty", "type VersionStats",
    ]);
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
