import { addColumnSql, defineNomos, defineVocabulary, type Intent, operation, sql, text } from "@noema/core";
import { escrowLaw } from "@noema/core/escrow";

/**
 * Evolutions of the escrow law that only tests run, each a v3 after the shipped v1 → v2: one
 * that changes `release` (Curved: a frozen release is reforged) and one that stops old releases
 * (Critical). The shipped v1 → v2 itself is Flat for every v1 Intent.
 */

const v2 = escrowLaw.latest;
const release = v2.operations.release;

/** What v3's release writes on the hold it closes (its SQL spells it out): a frozen release that ran it was reforged. */
export const RELEASE_NOTE = "released under v3";

/** v3: a hold records a note, and `release` writes it. */
export const notedNomos = defineNomos({
  name: "escrow",
  version: 3,
  tables: { ...v2.nomos.tables, holds: { ...v2.nomos.tables.holds, columns: { ...v2.nomos.tables.holds.columns, note: text() } } },
  invariants: v2.nomos.invariants,
});

export const notedV3 = defineVocabulary(notedNomos, {
  ...v2.operations,
  release: operation({
    description: release.description,
    args: release.args,
    output: release.output,
    statements: ({ arg }) => ({ ...release.statements, note: sql`UPDATE holds SET note = 'released under v3' WHERE reservation_id = ${arg.reservationId}` }),
    result: (rows, args, ctx) => release.result(rows, args, ctx),
  }),
});

/** v3 changes `release`: a v2 release is Curved, carried by a reforge that keeps it as it is. */
export const curvedEscrowLaw = escrowLaw.evolve(notedV3, { migration: [addColumnSql(notedNomos, "holds", "note")], reforge: (intent: Intent) => intent });

export const STOPPED_REASON = "releases of the old law put units back that an audit had already counted as sold";

/** v3 marks `release` critical: no release of an older law runs any more. */
export const criticalEscrowLaw = escrowLaw.evolve(defineVocabulary(defineNomos({ name: "escrow", version: 3, tables: v2.nomos.tables, invariants: v2.nomos.invariants }), v2.operations), {
  migration: [],
  critical: { reason: STOPPED_REASON, operations: ["release"] },
});
