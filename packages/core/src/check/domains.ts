import { type $ZodType, safeParse, util } from "zod/v4/core";
import type { Json } from "../canonical/index.js";
import type { SqlExecutor } from "../host/index.js";
import { type ObjectSchema, shapeOf } from "../intent/index.js";
import type { ActionArgs, Domain, DomainValue, Domains } from "./types.js";

/**
 * Default id pools, tried in order until the schema accepts one (ids are often patterned).
 * Two ids are the fewest that tell "same" from "different".
 */
export const DEFAULT_ID_POOLS: readonly (readonly string[])[] = [["a", "b"], ["A", "B"], ["1", "2"], ["id-1", "id-2"]];
/** More concrete actions than this per action kind means a domain needs narrowing by hand. */
export const MAX_ACTIONS_PER_KIND = 256;
/** Integers seen in the state that are added to an integer domain, smallest first. */
const MAX_SEEN_VALUES = 4;

/** Thrown by `check` when the definition cannot be run (a depth out of range, an unknown property, an argument it cannot find values for). */
export class CheckSetupError extends Error {
  override name = "CheckSetupError";
}

/** A check as a schema's definition lists it (a number format such as `z.int()` is one itself). */
interface CheckDef {
  check?: string;
  value?: number;
  format?: string;
}

/** What a domain is derived from: Zod's internals, the same in classic `zod` and `zod/mini`. */
interface ZodInternals {
  _zod: {
    def: CheckDef & { type: string; innerType?: $ZodType; values?: readonly Json[]; checks?: readonly { _zod: { def: CheckDef } }[] };
    /** An enum's members. */
    values?: ReadonlySet<Json>;
  };
}

/** A number schema's bounds from its checks, as classic zod's `minValue` and `maxValue` give them. */
function numberBounds(s: ZodInternals): { min: number; max: number } {
  let min = -Infinity;
  let max = Infinity;
  const { def } = s._zod;
  for (const d of [def, ...(def.checks ?? []).map((c) => c._zod.def)]) {
    if (d.check === "greater_than") min = Math.max(min, d.value!);
    else if (d.check === "less_than") max = Math.min(max, d.value!);
    else if (d.check === "number_format") {
      const range = util.NUMBER_FORMAT_RANGES[d.format as keyof typeof util.NUMBER_FORMAT_RANGES];
      if (range) [min, max] = [Math.max(min, range[0]), Math.min(max, range[1])];
    }
  }
  return { min, max };
}

/** A field's schema without its optional, default and nullable wrappers, and the extra values those allow. */
function unwrap(schema: $ZodType): { core: $ZodType; extra: DomainValue[] } {
  const extra: DomainValue[] = [];
  let s = schema as unknown as ZodInternals;
  for (;;) {
    const { type, innerType } = s._zod.def;
    if ((type === "optional" || type === "default") && innerType) extra.push(undefined);
    else if (type === "nullable" && innerType) extra.push(null);
    else break;
    s = innerType as unknown as ZodInternals;
  }
  return { core: s as unknown as $ZodType, extra };
}

/**
 * Values derived from a field's schema: every enum member or literal, both booleans,
 * integers at and next to the bounds (and 0 and 1 when allowed), ids from the pool for
 * strings. Each candidate is kept only when the schema accepts it, so refinements count.
 * Undefined when nothing can be derived: the field needs a domain.
 */
export function deriveDomain(schema: $ZodType, ids?: readonly string[], seen: readonly number[] = []): DomainValue[] | undefined {
  const { core, extra } = unwrap(schema);
  const s = core as unknown as ZodInternals;
  let candidates: Json[];
  switch (s._zod.def.type) {
    case "enum":
      candidates = [...(s._zod.values ?? [])];
      break;
    case "literal":
      candidates = [...(s._zod.def.values ?? [])];
      break;
    case "boolean":
      candidates = [false, true];
      break;
    case "number": {
      const { min, max } = numberBounds(s);
      const lo = Number.isFinite(min) ? min : -1;
      const hi = Number.isFinite(max) ? max : 1;
      candidates = [lo, lo + 1, 0, 1, ...seen, hi - 1, hi];
      break;
    }
    case "string":
      candidates = [...(ids ?? DEFAULT_ID_POOLS.find((pool) => pool.every((id) => safeParse(core, id).success)) ?? [])];
      break;
    default:
      return undefined;
  }
  const values = dedupe(candidates).filter((v) => safeParse(core, v).success);
  if (values.length === 0) return undefined;
  return [...values, ...extra.filter((v) => safeParse(schema, v).success)];
}

function dedupe(values: readonly Json[]): Json[] {
  const out: Json[] = [];
  const keys = new Set<string>();
  for (const v of values) {
    const key = JSON.stringify(v);
    if (keys.has(key)) continue;
    keys.add(key);
    out.push(v);
  }
  return out;
}

/** A domain's values in the current state: a list as is, a query's first column plus `also`. */
export function domainValues(domain: Domain, db: SqlExecutor): DomainValue[] {
  if (Array.isArray(domain)) return [...(domain as readonly DomainValue[])];
  const { sql, also = [] } = domain as { sql: string; also?: readonly DomainValue[] };
  const rows = db.exec(sql, []);
  return [...rows.map((r) => Object.values(r)[0] ?? null), ...also];
}

/** Small integers already stored in the state's integer columns: values an argument may meet again. */
export function seenIntegers(db: SqlExecutor, tables: readonly string[]): number[] {
  const seen = new Set<number>();
  for (const table of tables) {
    for (const row of db.exec(`SELECT * FROM "${table}"`, [])) {
      for (const v of Object.values(row)) if (typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 1e6) seen.add(v);
    }
  }
  return [...seen].sort((a, b) => a - b).slice(0, MAX_SEEN_VALUES);
}

/**
 * Every combination of argument values for an action: `given` domains first, the rest
 * derived from the operation's schema. Fields the operation does not have are dropped, so
 * one action spec serves versions whose arguments differ.
 */
export function argumentCombinations(
  label: string,
  schema: ObjectSchema,
  given: Domains,
  db: SqlExecutor,
  ids: readonly string[] | undefined,
  seen: readonly number[],
): ActionArgs[] {
  const shape = shapeOf(schema);
  const fields: [string, DomainValue[]][] = [];
  for (const [name, field] of Object.entries(shape)) {
    const domain = given[name];
    const values = domain !== undefined ? domainValues(domain, db) : deriveDomain(field, ids, seen);
    if (!values) throw new CheckSetupError(`action ${label}: cannot derive values for argument "${name}"; give it a domain`);
    fields.push([name, values]);
  }
  let combos: Record<string, Json>[] = [{}];
  for (const [name, values] of fields) {
    const next: Record<string, Json>[] = [];
    for (const combo of combos) for (const v of values) next.push(v === undefined ? combo : { ...combo, [name]: v });
    combos = next;
    if (combos.length > MAX_ACTIONS_PER_KIND) {
      throw new CheckSetupError(`action ${label}: more than ${MAX_ACTIONS_PER_KIND} argument combinations; narrow its domains (e.g. args: { ${name}: [...] })`);
    }
  }
  return combos;
}
