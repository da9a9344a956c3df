import type { Lineage } from "../connection/lineage.js";
import type { SedimentHost, SqlExecutor } from "../host/index.js";
import type { NomosStamp } from "../intent/index.js";
import { installScopes } from "../interpretation/index.js";
import type { Nomos } from "../nomos/index.js";
import { type AppliedNomos, createInternalTables, latestApplied, recordApplied } from "./store.js";

/** A migration that left tables other than its law declares: the step rolls back and the previous version stays. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

/** Where an Attractor stands after waking: the law it holds, the law its code declares, and why they differ. */
export interface MigrationState {
  held: AppliedNomos;
  /** The newest law the code declares: what the Attractor migrates to. */
  latest: NomosStamp;
  /** Set when the Attractor could not reach the latest law; it keeps serving the law it holds, if it knows it. */
  error?: { version: number; message: string; at: number };
  /** Set when this wake created the Attractor: its tables are new, so it holds no work, lease or alarm yet. */
  created?: true;
}

/**
 * Compares the live schema with a Nomos: same tables, and per table the same columns with
 * the same type, NOT NULL and primary-key position. A migration that leaves anything else
 * behind is rolled back instead of recorded.
 */
export function verifySchema(db: SqlExecutor, nomos: Nomos): void {
  const live = db
    .exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'`, [])
    .map((r) => String(r.name))
    .sort();
  const declared = Object.keys(nomos.tables).sort();
  if (live.join() !== declared.join()) {
    throw new MigrationError(`tables are [${live.join(", ")}], ${nomos.name} v${nomos.version} declares [${declared.join(", ")}]`);
  }
  for (const table of declared) {
    const spec = nomos.tables[table]!;
    const columns = db.exec(`PRAGMA table_info("${table}")`, []);
    const got = columns.map((c) => `${String(c.name)} ${String(c.type)}${Number(c.notnull) || Number(c.pk) ? " NOT NULL" : ""}`).sort();
    const want = Object.entries(spec.columns)
      .map(([name, c]) => `${name} ${c.spec.type}${c.spec.notNull ? " NOT NULL" : ""}`)
      .sort();
    if (got.join() !== want.join()) {
      throw new MigrationError(`table ${table} has columns [${got.join(", ")}], ${nomos.name} v${nomos.version} declares [${want.join(", ")}]`);
    }
  }
}

/**
 * Brings an Attractor to its lineage's current law on wake. A fresh Attractor gets the
 * current law's tables directly; an older one runs each evolution's migration in its own
 * transaction, verifies the result and records it. A failed step rolls back whole: the
 * previous version stays fully intact and the error is returned, to be retried next wake.
 */
export function applyLineage(host: SedimentHost, lineage: Lineage, now: number): MigrationState {
  const { db } = host;
  const latest = lineage.latest.nomos;
  const stamp: NomosStamp = { name: latest.name, version: latest.version, hash: latest.hash };
  let created = false;
  let held = host.transaction(() => {
    createInternalTables(db);
    const applied = latestApplied(db);
    if (applied) return applied;
    created = true;
    for (const ddl of latest.ddl) db.exec(ddl, []);
    return recordApplied(db, latest, now);
  });
  const fail = (version: number, message: string): MigrationState => ({ held, latest: stamp, error: { version, message, at: now } });
  const declared = lineage.at(held.version);
  if (!declared) return fail(latest.version, `this Attractor holds v${held.version}, which this code does not declare (it knows up to v${latest.version})`);
  if (declared.nomos.hash !== held.hash) {
    return fail(held.version, `v${held.version} was applied with hash ${held.hash}, but this code declares it as ${declared.nomos.hash}: a released law was edited`);
  }
  const install = (nomos: Nomos) => installScopes(host, nomos);
  while (held.version < latest.version) {
    const next = lineage.at(held.version + 1)!.nomos;
    const evolution = lineage.evolutionFrom(held.version)!;
    try {
      held = host.transaction(() => {
        for (const sql of evolution.migration) db.exec(sql, []);
        verifySchema(db, next);
        return recordApplied(db, next, now);
      });
    } catch (error) {
      install(lineage.at(held.version)!.nomos);
      return fail(next.version, error instanceof Error ? error.message : String(error));
    }
  }
  install(latest);
  return created ? { held, latest: stamp, created } : { held, latest: stamp };
}
