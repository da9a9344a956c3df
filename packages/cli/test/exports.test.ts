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
    "type AnyColumn", "type ArgsWithRefs", "type ArgValue", "blob", "buildIntent", "type BuildOptions",
    "CANCEL", "type CarryResult", "type CarryStep", "type Change", "type ChangeKind", "type CheckSpec",
    "Column", "type ColumnSpec", "type ColumnType", "type ComputedParam", "connection", "type Connection",
    "type ConnectionType", "createTableSql", "DEFAULT_LIMITS", "defineNomos", "defineVocabulary",
    "type ElementKey", "type Evolution", "type EvolutionHints", "explain", "type ExplainedStatement",
    "type Explanation", "formatPath", "FREEZE", "type FreezeArgs", "type FreezeResult",
    "type FrozenStepBuilder", "type IndexSpec", "type InferRow", "integer", "type Intent",
    "type IntentLimits", "type IntentStep", "IntentValidationError", "type InterpretationContext",
    "type InvariantSpec", "type Issue", "type Json", "Lineage", "lineage", "LineageDefinitionError",
    "MAX_FREEZE_MS", "type Nomos", "NomosDefinitionError", "type NomosSpec", "type NomosStamp",
    "type ObjectSchema", "operation", "type OperationSpec", "type Origin", "type OutputRef",
    "type OutputRefs", "parseIntent", "type ParseResult", "type Phase", "type Policy", "type Precedent",
    "type Provisions", "real", "type Reason", "type ReasonKind", "rebuildTableSql", "type Ref",
    "type ReforgeContext", "type RefusalSeal", "type Row", "type RowOf", "type Seal", "type Sediment",
    "type Sieve", "SieveDerivationError", "type SqlValue", "type StatementSpec", "type StepBuilder",
    "type SuccessSeal", "type TableSpec", "text", "type Verification", "type Vocabulary",
    "VocabularyDefinitionError", "type WakeOutcome", "type World",
    ]);
  });

  it("@noema/core/runtime exports what a host needs to run a law", () => {
    expect(exportsOf(here("../../core/src/runtime.ts"))).toStrictEqual([
    "type AppliedNomos", "applyLineage", "backoffMs", "CANCEL_SQL", "canonicalJson", "type CanonicalSediment",
    "checkStepArgs", "constraintReason", "contentHash", "countPlaceholders", "createInternalTables",
    "CRYOSTASIS_DDL", "CryostasisStore", "diffNomos", "diffVocabulary", "type Footprint", "FREEZE_SQL",
    "FreezeKeyConflict", "type Freezer", "type FreezeRequest", "type FrozenEntry", "GENESIS_HASH",
    "hashCanonicalSediment", "intentSieve", "interpret", "isRef", "latestApplied", "limitIssues",
    "MAX_BOUND_PARAMETERS", "MAX_WAKE_ATTEMPTS", "MigrationError", "type MigrationState", "nomosHistory",
    "nomosStamp", "normalizeSql", "operationFootprint", "operationHash", "operationsOf", "phaseAt",
    "placeholdersOf", "type Prepared", "recordApplied", "Refusal", "Sedimenter", "type SedimenterOptions",
    "sedimentHash", "type SedimentHost", "SedimentLog", "sha256Hex", "sieveHash", "sieveOf",
    "type SqlExecutor", "statementFootprint", "strictArgs", "tablesOfInvariants", "verifySchema", "worldHash",
    "zodIssues",
    ]);
  });

  it("the built package loads in plain Node 22 and builds an Intent", () => {
    // The workspace link resolves @noema/core as an installed package would: to dist/ (built by `npm test`).
    const script = `
      import { buildIntent, defineNomos, defineVocabulary, integer, operation, text } from "@noema/core";
      import { z } from "zod";
      const nomos = defineNomos({ name: "n", version: 1, tables: { t: { columns: { id: text().primaryKey(), v: integer().notNull() } } } });
      const law = defineVocabulary(nomos, { put: operation({ description: "puts", args: z.object({ id: z.string() }), output: z.object({}),
        statements: [{ sql: "INSERT INTO t (id, v) VALUES (?, 1)", params: (a) => [a.id] }], result: () => ({}) }) });
      console.log(JSON.stringify(buildIntent(law, (s) => void s.put({ id: "a" }))));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: here(".."), encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ nomos: { name: "n", version: 1 }, steps: [{ op: "put", args: { id: "a" } }] });
  });
});
