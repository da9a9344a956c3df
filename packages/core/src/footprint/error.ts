import { normalizeSql } from "../canonical/index.js";

/** A statement whose footprint cannot be derived: what is wrong, the statement, and where (a 0-based offset) when known. */
export class SieveDerivationError extends Error {
  override name = "SieveDerivationError";
  constructor(
    readonly problem: string,
    readonly sql: string,
    readonly offset?: number,
  ) {
    // One line, whatever the SQL's layout: a CLI prints it as is. Lines are counted in the SQL as written.
    const before = offset === undefined ? [] : sql.slice(0, offset).split("\n");
    const place = before.length > 1 ? `line ${before.length}, column ${before.at(-1)!.length + 1}` : `column ${(offset ?? 0) + 1}`;
    const near = offset === undefined ? "" : ` at ${place}${offset < sql.length ? ` (near "${normalizeSql(sql.slice(offset, offset + 16))}")` : " (at its end)"}`;
    super(`${problem}${near}; in: ${normalizeSql(sql)}`);
  }
}
