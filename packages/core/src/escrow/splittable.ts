import { type Nomos, NomosDefinitionError } from "../nomos/define.js";

/**
 * A quantity a law lets Noema split across shard Worlds (escrow, O'Neil 1986): an INTEGER NOT
 * NULL column and the invariant that keeps it from going below zero. Each shard then serves from
 * its own share alone, and no shard can hand out units it was not given.
 */
export interface Splittable {
  readonly nomos: Nomos;
  /** The table holding the quantity. */
  readonly table: string;
  /** The INTEGER NOT NULL column each World's share lives in. */
  readonly column: string;
  /** The invariant (of `nomos`) that refuses any Intent leaving the column below zero. */
  readonly invariant: string;
}

/**
 * Declares `table.column` of `nomos` splittable under `invariant`, checked now: the column exists,
 * is INTEGER NOT NULL, and the invariant exists and reads it. A misdeclaration is a
 * NomosDefinitionError when the law is defined, not a surprise under load.
 */
export function splittable(nomos: Nomos, spec: { table: string; column: string; invariant: string }): Splittable {
  const { table, column, invariant } = spec;
  const where = `splittable ${table}.${column} of ${nomos.name} v${nomos.version}`;
  const t = nomos.tables[table];
  if (!t) throw new NomosDefinitionError(`${where}: the law has no table "${table}"`);
  const c = t.columns[column];
  if (!c) throw new NomosDefinitionError(`${where}: table "${table}" has no column "${column}"`);
  if (c.spec.type !== "INTEGER" || !c.spec.notNull) throw new NomosDefinitionError(`${where}: a share is counted in whole units, so the column must be INTEGER NOT NULL`);
  const inv = nomos.invariants[invariant];
  if (!inv) throw new NomosDefinitionError(`${where}: the law has no invariant "${invariant}" to keep the quantity from going below zero`);
  if (!new RegExp(`\\b${column}\\b`).test(inv.violations)) throw new NomosDefinitionError(`${where}: invariant "${invariant}" does not read "${column}", so it cannot keep it from going below zero`);
  return Object.freeze({ nomos, table, column, invariant });
}
