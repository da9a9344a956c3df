// `noema check --law packages/core/src/escrow/check.ts`: the split protocol of a hot product, run
// by the checker. The checker runs one World; the protocol spans several, so this model runs each
// World's own law, unchanged, on its own tables of one database, and the runtime's part (the
// messages carrying moves, their redeliveries and receipts) on a table of its own.
// The checker reads SQL: the renamed statements need the parser (never in a Worker).
import "../sql.js";
import * as z from "zod";
import type { StepBuilder } from "../builder/index.js";
import type { ActionArgs, ActionSpec, CheckDefinition, SafetyProperty } from "../check/types.js";
import { defineVocabulary, operation, type OperationSpec, sql, type Statement, type Vocabulary } from "../intent/vocabulary.js";
import { integer, text } from "../nomos/column.js";
import { defineNomos, type InvariantSpec, type TableSpec } from "../nomos/define.js";
import { escrow } from "./law.js";

/** The product's coordinator World and its shards, as EscrowAttractor names them (`shardName`). */
const PRODUCT = "hot";
const SHARDS = ["hot~0", "hot~1"] as const;
/** Units the model stocks: enough to split, borrow and sell out within a few steps. */
const STOCK = 3;
/** Units a split grants each shard, and a borrow or a give-back moves: one, so the model's few units make many moves. */
const UNIT = 1;

/** Each World's tables and operations carry its prefix: `product_quantity`, `shard0LandShare`. */
const WORLDS = [
  { world: PRODUCT, prefix: "product" },
  ...SHARDS.map((world, i) => ({ world, prefix: `shard${i}` })),
];
const prefixOf = (world: string) => WORLDS.find((w) => w.world === world)!.prefix;
const opName = (world: string, op: string) => `${prefixOf(world)}${op[0]!.toUpperCase()}${op.slice(1)}`;

/** Rewrites the tables a statement names (after FROM, INTO, UPDATE, JOIN) to one World's; a name it misses fails when the model law is defined. */
function renameTables(text: string, tables: readonly string[], prefix: string): string {
  return text.replace(new RegExp(`\\b(FROM|INTO|UPDATE|JOIN)\\s+(${tables.join("|")})\\b`, "gi"), (_m, kw: string, t: string) => `${kw} ${prefix}_${t}`);
}

/** The same statement on one World's tables: same holes, same expectation. */
function onWorld<A, R extends object>(s: Statement<A, R>, tables: readonly string[], prefix: string): Statement<A, R> {
  // Split at the placeholders (none stands inside a literal in a law's SQL: `sql` counts them the same way).
  const strings = renameTables(s.sql, tables, prefix).split("?");
  const renamed = sql(Object.assign(strings, { raw: strings }) as TemplateStringsArray, ...(s.holes as never[])) as unknown as Statement<A, R>;
  if (!s.expectation) return renamed;
  const { cause, ...rest } = s.expectation;
  return renamed.expect(cause ? { ...rest, cause: onWorld(cause, tables, prefix) } : rest);
}

/** The runtime's side, which no World's law holds: each move's message, how often its landing sealed, and its receipt. */
const mailTable = {
  columns: {
    move_id: text().primaryKey(),
    from_world: text().notNull(),
    to_world: text().notNull(),
    amount: integer().notNull(),
    /** Times the receiver sealed a landing of this move: 1 is exactly once. */
    landings: integer().notNull(),
    /** The sender's receipt: NULL until recorded, then `sealed` (it landed) or `refused` (it never applied). */
    receipt: text(),
  },
};

const MoveId = z.object({ moveId: z.string().min(1) });
const Landing = z.object({ from: z.string(), amount: z.number() });

/** The model's own operations: the runtime moving messages, not any World's law. */
const runtimeOps = {
  post: operation({
    description: "The outbox: the message carrying a move, stored in the Intent that grants it (its id is the move's).",
    args: z.object({ from: z.string().min(1), to: z.string().min(1), amount: z.number().int().min(1) }),
    output: MoveId,
    statements: ({ arg }) => ({
      post: sql`INSERT INTO mail (move_id, from_world, to_world, amount, landings) VALUES ('m' || (SELECT COUNT(*) + 1 FROM mail), ${arg.from}, ${arg.to}, ${arg.amount}, 0) RETURNING move_id`,
    }),
    result: (rows) => ({ moveId: String(rows.post[0]!.move_id) }),
  }),
  arrive: operation({
    description: "Delivers a move's message for the first time: the receiver's landing runs in the same Intent.",
    args: MoveId,
    output: Landing,
    statements: ({ arg }) => ({
      arrive: sql`UPDATE mail SET landings = landings + 1 WHERE move_id = ${arg.moveId} AND landings = 0 AND receipt IS NULL RETURNING from_world, amount`.expect({
        rows: 1,
        refusal: (a) => `move ${a.moveId} is not waiting for delivery`,
      }),
    }),
    result: (rows) => ({ from: String(rows.arrive[0]!.from_world), amount: Number(rows.arrive[0]!.amount) }),
  }),
  again: operation({
    description: "Delivers a landed move's message again (a lost answer, a dead run's delivery), as if the runtime's key did not catch it: the law must refuse it.",
    args: MoveId,
    output: Landing,
    statements: ({ arg }) => ({
      again: sql`UPDATE mail SET landings = landings + 1 WHERE move_id = ${arg.moveId} AND landings > 0 RETURNING from_world, amount`.expect({
        rows: 1,
        refusal: (a) => `move ${a.moveId} has not landed`,
      }),
    }),
    result: (rows) => ({ from: String(rows.again[0]!.from_world), amount: Number(rows.again[0]!.amount) }),
  }),
  answer: operation({
    description: "Records a move's one receipt: sealed once it landed, refused while it never did; the sender's law records it in the same Intent.",
    args: z.object({ moveId: z.string().min(1), outcome: z.enum(["sealed", "refused"]) }),
    output: MoveId,
    statements: ({ arg }) => ({
      answer: sql`UPDATE mail SET receipt = ${arg.outcome} WHERE move_id = ${arg.moveId} AND receipt IS NULL AND (landings > 0) = (${arg.outcome} = 'sealed') RETURNING move_id`.expect({
        rows: 1,
        refusal: (a) => `move ${a.moveId} has no ${a.outcome} receipt to record`,
      }),
    }),
    result: (rows) => ({ moveId: String(rows.answer[0]!.move_id) }),
  }),
};

/**
 * The model law: every World's tables and invariants of `law` (the escrow law or a mutant of it),
 * prefixed by the World, its operations once per World on that World's tables, and the runtime's
 * `mail`. Nothing of the law is restated: its SQL is run as written, tables renamed.
 */
export function escrowModelLaw(law: Vocabulary = escrow): Vocabulary {
  const names = Object.keys(law.nomos.tables);
  const tables: Record<string, TableSpec> = { mail: mailTable };
  const invariants: Record<string, InvariantSpec> = {};
  const operations: Record<string, OperationSpec> = { ...runtimeOps };
  for (const { world, prefix } of WORLDS) {
    for (const t of names) tables[`${prefix}_${t}`] = law.nomos.tables[t]!;
    for (const [name, inv] of Object.entries(law.nomos.invariants)) {
      if (inv.scope) throw new Error(`the escrow model does not rename scoped invariants (${name})`);
      invariants[`${prefix}_${name}`] = { violations: renameTables(inv.violations, names, prefix), message: `${world}: ${inv.message}` };
    }
    for (const [name, op] of Object.entries(law.operations)) {
      const statements = Object.fromEntries(Object.entries(op.statements).map(([k, s]) => [k, onWorld(s, names, prefix)]));
      operations[opName(world, name)] = { ...op, description: `${world}: ${op.description}`, statements };
    }
  }
  return defineVocabulary(defineNomos({ name: "escrow_model", version: law.nomos.version, tables, invariants }), operations);
}

type Steps = StepBuilder<Record<string, OperationSpec>>;
type Move = { from: string; to: string; amount: number };

/** A move as the EscrowAttractor sends it: the sender's `grant` and, in the same Intent, the message that will land it. */
function move(s: Steps, m: Move, why: "split" | "borrow" | "rebalance" | "merge"): void {
  const posted = s.post!(m);
  s[opName(m.from, "grant")]!({ moveId: posted.moveId, to: m.to, amount: m.amount, why });
}

const moveArgs = (a: ActionArgs) => a as unknown as Move;
const idOf = (a: ActionArgs) => String(a.moveId);
/** A domain of the moves in `mail` matching `where`. */
const movesWhere = (where: string) => ({ sql: `SELECT move_id FROM mail WHERE ${where} ORDER BY move_id` });
const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The actions: what each World's Attractor seals (stock, split or merge, lend, give back, reserve,
 * release, sell; a rebalance is give-backs, then grants), and what the runtime does (deliver,
 * redeliver, record a receipt), each on its own, in any order.
 */
function escrowActions(): Record<string, ActionSpec<Record<string, OperationSpec>>> {
  const actions: Record<string, ActionSpec<Record<string, OperationSpec>>> = {
    stock: { op: opName(PRODUCT, "stock"), args: { quantity: [STOCK] } },
    // split(2) and split(1) (a merge): the shards, and a grant to each in the same Intent.
    split: {
      op: opName(PRODUCT, "split"),
      args: { names: [[...SHARDS], [SHARDS[0]]] },
      build: (s, a) => {
        const names = a.names as string[];
        s[opName(PRODUCT, "split")]!({ names });
        for (const to of names) move(s, { from: PRODUCT, to, amount: UNIT }, names.length < SHARDS.length ? "merge" : "split");
      },
    },
    // A short shard borrows: the coordinator lends it share.
    lend: { op: "post", args: { from: [PRODUCT], to: [...SHARDS], amount: [UNIT] }, build: (s, a) => move(s, moveArgs(a), "borrow") },
    // A shard gives share back: to a sibling's borrow, a rebalance or a merge.
    giveBack: { op: "post", args: { from: [...SHARDS], to: [PRODUCT], amount: [UNIT] }, build: (s, a) => move(s, moveArgs(a), "rebalance") },
  };
  for (const shard of SHARDS) {
    const holds = `${prefixOf(shard)}_holds`;
    const held = { sql: `SELECT reservation_id FROM ${holds} WHERE status = 'held' ORDER BY reservation_id` };
    // Only "no stock left" may refuse a reservation, never a constraint or an invariant.
    actions[`reserve@${shard}`] = { op: opName(shard, "reserve"), args: { reservationId: { sql: `SELECT 'r' || (COUNT(*) + 1) FROM ${holds}` }, quantity: [1] }, guarded: true };
    actions[`release@${shard}`] = { op: opName(shard, "release"), args: { reservationId: held } };
    actions[`sell@${shard}`] = { op: opName(shard, "sell"), args: { reservationId: held } };
  }
  for (const { world } of WORLDS) {
    const land = (s: Steps, m: Readonly<Record<string, unknown>>, a: ActionArgs) => s[opName(world, "landShare")]!({ moveId: idOf(a), from: m.from, amount: m.amount });
    actions[`deliver@${world}`] = { op: "arrive", args: { moveId: movesWhere(`to_world = ${quote(world)} AND landings = 0 AND receipt IS NULL`) }, build: (s, a) => land(s, s.arrive!({ moveId: idOf(a) }), a) };
    actions[`redeliver@${world}`] = { op: "again", args: { moveId: movesWhere(`to_world = ${quote(world)} AND landings > 0`) }, build: (s, a) => land(s, s.again!({ moveId: idOf(a) }), a) };
    actions[`landed@${world}`] = {
      op: "answer",
      args: { moveId: movesWhere(`from_world = ${quote(world)} AND landings > 0 AND receipt IS NULL`), outcome: ["sealed"] },
      build: (s, a) => {
        s.answer!({ moveId: idOf(a), outcome: "sealed" });
        s[opName(world, "moveLanded")]!({ moveId: idOf(a) });
      },
    };
    actions[`refused@${world}`] = {
      op: "answer",
      args: { moveId: movesWhere(`from_world = ${quote(world)} AND landings = 0 AND receipt IS NULL`), outcome: ["refused"] },
      build: (s, a) => {
        s.answer!({ moveId: idOf(a), outcome: "refused" });
        s[opName(world, "moveReturned")]!({ moveId: idOf(a) });
      },
    };
  }
  return actions;
}

/** Every World's rows of its `quantity` table. */
const quantities = WORLDS.map(({ prefix }) => `SELECT available, held, sold FROM ${prefix}_quantity`).join(" UNION ALL ");
const shardQuantities = WORLDS.filter((w) => w.world !== PRODUCT)
  .map(({ prefix }) => `SELECT held, sold FROM ${prefix}_quantity`)
  .join(" UNION ALL ");
/** Units on their way: moves whose message no receiver applied and no refusal returned. */
const IN_FLIGHT = "SELECT COALESCE(SUM(amount), 0) FROM mail WHERE landings = 0 AND receipt IS NULL";
const sent = WORLDS.map(({ prefix }) => `SELECT move_id, amount FROM ${prefix}_moves WHERE status = 'in_flight'`).join(" UNION ALL ");
const landed = WORLDS.map(({ prefix }) => `SELECT move_id FROM ${prefix}_landed`).join(" UNION ALL ");

/** What must hold in every state, whatever the interleaving of Worlds and messages. */
export const escrowProperties: SafetyProperty[] = [
  {
    name: "conservation",
    description: "the product's total is every World's units (available, held, sold) plus the units in flight",
    sql: `SELECT p.total, w.units, (${IN_FLIGHT}) AS in_flight FROM product_quantity p, (SELECT SUM(available + held + sold) AS units FROM (${quantities})) w
      WHERE p.total != w.units + (${IN_FLIGHT})`,
  },
  {
    name: "never_oversold",
    description: "the shards hold and sell no more than the total, and no World's share is below zero",
    sql: `SELECT 'oversold' AS what, json_object('total', COALESCE((SELECT total FROM product_quantity), 0), 'held_or_sold', s.taken) AS detail
      FROM (SELECT COALESCE(SUM(held + sold), 0) AS taken FROM (${shardQuantities})) s WHERE s.taken > COALESCE((SELECT total FROM product_quantity), 0)
      UNION ALL SELECT 'below zero', json_object('available', available, 'held', held) FROM (${quantities}) WHERE available < 0 OR held < 0`,
  },
  {
    name: "landed_once",
    description: "no move's share lands twice, however often its message is delivered",
    sql: "SELECT move_id, to_world, landings FROM mail WHERE landings > 1",
  },
  {
    name: "in_flight_as_read",
    description: "what the product read counts in flight (moves sent, landed nowhere) is what the messages carry",
    sql: `SELECT (${IN_FLIGHT}) AS in_flight, r.units AS read FROM (SELECT COALESCE(SUM(amount), 0) AS units FROM (${sent}) WHERE move_id NOT IN (${landed})) r
      WHERE r.units != (${IN_FLIGHT})`,
  },
];

/**
 * The check of the split protocol on `law` (the escrow law by default; a test passes a mutant):
 * a coordinator and two shards, three units, every interleaving of their Intents and of the
 * messages between them, redeliveries included.
 */
export function escrowCheck(law: Vocabulary = escrow): CheckDefinition {
  return { law: escrowModelLaw(law), actions: escrowActions() as CheckDefinition["actions"], properties: escrowProperties };
}

/** The split protocol as `noema check` runs it: `noema check --law packages/core/src/escrow/check.ts --depth 5`. */
export const check: CheckDefinition = escrowCheck();
