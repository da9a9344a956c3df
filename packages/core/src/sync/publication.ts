import type { Nomos, TableSpec } from "../nomos/index.js";

/** A publication that names what its law lacks, or leaves out a primary-key column: found when it is defined. */
export class PublicationDefinitionError extends Error {
  override name = "PublicationDefinitionError";
}

/** What subscribers may see of one table. Column names are the table's own: an unknown one does not compile. */
export interface TablePublication<C extends string> {
  /** The columns a subscriber may see. They must include the primary key: a delete names its row by it. */
  columns: readonly C[];
  /**
   * Only the rows whose value in this column equals the subscriber's `subject` (see `authorize`):
   * for example a customer's own reservations. The column itself need not be visible.
   */
  scope?: C;
}

/** Per table of the Nomos, what subscribers may see; a table left out is never published. */
export type PublicationSpec<T extends Record<string, TableSpec>> = {
  [K in keyof T & string]?: TablePublication<keyof T[K]["columns"] & string>;
};

/** One published table, resolved: its visible columns, primary key, scope, and the columns captured per change. */
export interface PublishedTable {
  readonly name: string;
  readonly columns: readonly string[];
  /** The primary-key columns in key order. */
  readonly key: readonly string[];
  readonly scope?: string;
  /** `columns`, then the scope column when it is not visible: what each captured row holds, in this order. */
  readonly captured: readonly string[];
}

/** What an Attractor publishes to sync subscribers (`static publication`): nothing else leaves it. */
export interface Publication {
  readonly tables: Readonly<Record<string, PublishedTable>>;
}

/**
 * Declares which tables, columns and rows of `nomos` sync subscribers may see; by default
 * nothing. Checked here, once: every table and column must exist, every published table must
 * have a primary key, and every primary-key column must be visible.
 *
 * @example definePublication(nomos, { stock: { columns: ["location_id", "quantity"] }, reservations: { columns: ["id", "quantity"], scope: "order_id" } })
 */
export function definePublication<T extends Record<string, TableSpec>>(nomos: Nomos<T>, spec: PublicationSpec<T>): Publication {
  const tables: Record<string, PublishedTable> = {};
  for (const [name, published] of Object.entries(spec) as [string, TablePublication<string> | undefined][]) {
    if (!published) continue;
    const table = Object.hasOwn(nomos.tables, name) ? nomos.tables[name] : undefined;
    if (!table) throw new PublicationDefinitionError(`publication names table "${name}", which ${nomos.name} v${nomos.version} does not have`);
    const known = Object.keys(table.columns);
    const unknown = [...published.columns, ...(published.scope ? [published.scope] : [])].find((c) => !known.includes(c));
    if (unknown !== undefined) throw new PublicationDefinitionError(`publication names column "${name}.${unknown}", which ${nomos.name} v${nomos.version} does not have`);
    if (new Set(published.columns).size !== published.columns.length) throw new PublicationDefinitionError(`publication of "${name}" names a column twice`);
    const key = table.primaryKey ?? known.filter((c) => table.columns[c]!.spec.primaryKey);
    if (key.length === 0) throw new PublicationDefinitionError(`table "${name}" has no primary key: a published table needs one, to name its rows in diffs`);
    const hidden = key.find((c) => !published.columns.includes(c));
    if (hidden !== undefined) throw new PublicationDefinitionError(`publication of "${name}" hides its primary-key column "${hidden}": subscribers need it to apply deletes`);
    const blob = published.columns.find((c) => table.columns[c]!.spec.type === "BLOB");
    if (blob !== undefined) throw new PublicationDefinitionError(`publication of "${name}" names BLOB column "${blob}": frames are JSON`);
    const scope = published.scope;
    const captured = scope === undefined || published.columns.includes(scope) ? [...published.columns] : [...published.columns, scope];
    tables[name] = { name, columns: [...published.columns], key: [...key], ...(scope === undefined ? {} : { scope }), captured };
  }
  return { tables };
}
