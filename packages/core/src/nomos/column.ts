/** SQLite storage classes a Nomos column may declare. */
export type ColumnType = "TEXT" | "INTEGER" | "REAL" | "BLOB";

/**
 * A column's value as SQLite returns it: INTEGER and REAL as number, TEXT as string, BLOB as
 * bytes: an ArrayBuffer in Durable Objects, a Uint8Array in node:sqlite.
 */
type TsOf<T extends ColumnType> = T extends "TEXT"
  ? string
  : T extends "INTEGER" | "REAL"
    ? number
    : ArrayBuffer | Uint8Array;

/** A named CHECK: the message is what a refused Intent reports when it fails. */
export interface CheckSpec {
  sql: string;
  message: string;
}

/** What a column declares, as its builder's modifiers set it: type, NOT NULL, PRIMARY KEY, UNIQUE, default, CHECK. */
export interface ColumnSpec {
  type: ColumnType;
  notNull: boolean;
  primaryKey: boolean;
  unique: boolean;
  default?: string | number | null;
  check?: CheckSpec;
}

/**
 * A column under construction. The type parameters carry what Drizzle-style
 * inference needs: the TypeScript type and whether NULL is possible.
 */
export class Column<T extends ColumnType = ColumnType, TValue = TsOf<T>, TNullable extends boolean = true> {
  declare readonly _value: TValue;
  declare readonly _nullable: TNullable;
  constructor(readonly spec: ColumnSpec) {}

  notNull(): Column<T, TValue, false> {
    return new Column({ ...this.spec, notNull: true });
  }
  /** A single-column primary key; implies NOT NULL. */
  primaryKey(): Column<T, TValue, false> {
    return new Column({ ...this.spec, primaryKey: true, notNull: true });
  }
  unique(): Column<T, TValue, TNullable> {
    return new Column({ ...this.spec, unique: true });
  }
  default(value: TValue & (string | number)): Column<T, TValue, TNullable> {
    return new Column({ ...this.spec, default: value });
  }
  check(sql: string, message: string): Column<T, TValue, TNullable> {
    return new Column({ ...this.spec, check: { sql, message } });
  }
  /** Narrows the TypeScript type (for example to a string union) without changing storage. */
  $type<U extends TValue>(): Column<T, U, TNullable> {
    return new Column(this.spec);
  }
}

const base = { notNull: false, primaryKey: false, unique: false } as const;
/** A TEXT column; chain `.notNull()`, `.primaryKey()`, `.unique()`, `.default(v)`, `.check(sql)` or `.$type<T>()`. */
export const text = () => new Column<"TEXT">({ type: "TEXT", ...base });
/** An INTEGER column (a `number` in rows); chain modifiers as on `text()`. */
export const integer = () => new Column<"INTEGER">({ type: "INTEGER", ...base });
/** A REAL column (a `number` in rows); chain modifiers as on `text()`. */
export const real = () => new Column<"REAL">({ type: "REAL", ...base });
/** A BLOB column (an `ArrayBuffer` or `Uint8Array` in rows); chain modifiers as on `text()`. */
export const blob = () => new Column<"BLOB">({ type: "BLOB", ...base });

/** Any column a builder makes, whatever its type and modifiers: what a table's `columns` map holds. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: any column shape
export type AnyColumn = Column<ColumnType, any, boolean>;

/** The row type of a column map, as Drizzle infers it: each column as SQLite returns it, `| null` unless NOT NULL. */
export type InferRow<C extends Record<string, AnyColumn>> = {
  -readonly [K in keyof C]: C[K]["_nullable"] extends true ? C[K]["_value"] | null : C[K]["_value"];
};
