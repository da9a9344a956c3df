/**
 * The coordinator's decisions as pure functions of the order's state: what one receipt, a commit,
 * a cancel or the expiry leads to. The OrderAttractor turns a Plan into one Intent (order steps
 * and `$send`s), so every decision and the messages it sends are one transaction; the branching is
 * here, in the Interpretation, never inside an Intent.
 */
import { canMove, commitBlocker, type LineStatus, mayHold, type OrderStatus } from "./status.js";

/** What the coordinator sends a product about one line. */
export const MESSAGE_KINDS = ["reserve", "cancelHold", "commit"] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** The key of the message about one line: the product applies it once under this key, however often it is delivered. */
export const messageKey = (kind: MessageKind, reservationId: string): string => `${kind}:${reservationId}`;

/** The kind and reservation id a message key names, or undefined for a key this protocol did not make. */
export function parseMessageKey(key: string): { kind: MessageKind; reservationId: string } | undefined {
  const colon = key.indexOf(":");
  const kind = key.slice(0, colon) as MessageKind;
  if (colon < 0 || !MESSAGE_KINDS.includes(kind)) return undefined;
  return { kind, reservationId: key.slice(colon + 1) };
}

export interface LineView {
  index: number;
  productId: string;
  locationId: string;
  quantity: number;
  status: LineStatus;
  reservationId: string;
  holdExpiresAt: number | null;
}

export interface OrderView {
  status: OrderStatus;
  expiresAt: number;
  lines: readonly LineView[];
}

/** A receipt as the protocol reads it: which line, what the product said. */
export interface LineReceipt {
  kind: MessageKind;
  lineIndex: number;
  outcome: "sealed" | "refused" | "undeliverable";
  /** The hold's expiry, from a sealed reserve's output. */
  holdExpiresAt?: number;
  /** The product's refusal, or why delivery gave up. */
  reason?: string;
}

export type LineStep =
  | { op: "holdLine"; args: { lineIndex: number; holdExpiresAt: number } }
  | { op: "refuseLine"; args: { lineIndex: number; reason: string } }
  | { op: "commitLine"; args: { lineIndex: number } }
  | { op: "releaseLine"; args: { lineIndex: number; reason?: string } }
  | { op: "noteLine"; args: { lineIndex: number; reason: string } };

/** One decision: order steps first, then the messages, in one Intent. */
export interface Plan {
  line?: LineStep;
  decideCommit?: true;
  move?: { to: OrderStatus; note?: string };
  problem?: string;
  /** The releases of a `releasing` order are among the messages. */
  releasesSent?: true;
  /** Cancel the order's frozen expiry (the order decided otherwise first). */
  cancelExpiry?: true;
  send: { kind: MessageKind; lineIndex: number }[];
}

const empty = (plan: Plan) => !plan.line && !plan.decideCommit && !plan.move && !plan.problem && !plan.releasesSent && !plan.cancelExpiry && plan.send.length === 0;

/** Release messages for every line that may still hold stock (`except` one already decided). */
const releases = (order: OrderView, except?: number) =>
  order.lines.filter((l) => l.index !== except && mayHold(l.status)).map((l) => ({ kind: "cancelHold" as const, lineIndex: l.index }));

/** The lines as they will be after `step`. */
function after(order: OrderView, step: LineStep | undefined): LineView[] {
  if (!step) return [...order.lines];
  const status: LineStatus | undefined = { holdLine: "reserved", refuseLine: "refused", commitLine: "committed", releaseLine: "released", noteLine: undefined }[step.op] as LineStatus | undefined;
  return order.lines.map((l) => (l.index === step.args.lineIndex && status ? { ...l, status } : l));
}

/** The order as it will be after `plan`: what the next receipt of the same delivery is decided on. */
export function planned(order: OrderView & { releasesSent: boolean }, plan: Plan): { status: OrderStatus; lines: LineView[]; releasesSent: boolean } {
  const lines = after(order, plan.line).map((l) => (plan.line?.op === "holdLine" && l.index === plan.line.args.lineIndex ? { ...l, holdExpiresAt: plan.line.args.holdExpiresAt } : l));
  return { status: plan.move?.to ?? order.status, lines, releasesSent: order.releasesSent || plan.releasesSent === true };
}

/**
 * What a receipt about one line leads to. A receipt the order no longer needs (a hold that
 * compensation is already releasing, a duplicate) leads to nothing: undefined.
 */
export function onLineReceipt(order: OrderView, r: LineReceipt, now: number): Plan | undefined {
  const line = order.lines[r.lineIndex];
  if (!line) return undefined;
  const plan: Plan = { send: [] };
  const why = r.reason ?? "no reason given";
  switch (r.kind) {
    case "reserve": {
      // Outside `pending` the order has decided: compensation already names this line.
      if (order.status !== "pending" || line.status !== "pending") break;
      if (r.outcome === "sealed") {
        plan.line = { op: "holdLine", args: { lineIndex: line.index, holdExpiresAt: r.holdExpiresAt ?? now } };
        if (after(order, plan.line).every((l) => l.status === "reserved")) plan.move = { to: "reserved", note: "every line is held" };
        break;
      }
      // Refused: nothing was held for this line. Undeliverable: it may have been, unseen, so it is released too.
      const refused = r.outcome === "refused";
      plan.line = refused
        ? { op: "refuseLine", args: { lineIndex: line.index, reason: why } }
        : { op: "noteLine", args: { lineIndex: line.index, reason: `reserve undeliverable: ${why}` } };
      plan.move = { to: "failed", note: `line ${line.index} ${refused ? "was refused" : "could not be delivered"}: ${why}` };
      plan.cancelExpiry = true;
      plan.send = releases(order, refused ? line.index : undefined);
      break;
    }
    case "cancelHold": {
      if (r.outcome === "undeliverable") {
        // Its key is spent; the product's own frozen release is the safety net that remains.
        if (!mayHold(line.status)) break;
        plan.line = { op: "releaseLine", args: { lineIndex: line.index, reason: `release undeliverable (${why}); the product's hold, if any, releases itself at its own expiry` } };
        plan.problem = `line ${line.index}: the release could not be delivered; the product releases the hold itself when it expires`;
        if (order.status === "releasing" && after(order, plan.line).every((l) => !mayHold(l.status))) plan.move = { to: "released", note: "every hold is released or releases itself" };
        break;
      }
      if (r.outcome === "refused") {
        plan.line = { op: "noteLine", args: { lineIndex: line.index, reason: `release refused: ${why}` } };
        plan.problem = `line ${line.index}: the product refused to release its hold: ${why}`;
        break;
      }
      if (!mayHold(line.status)) break;
      plan.line = { op: "releaseLine", args: { lineIndex: line.index } };
      if (order.status === "releasing" && after(order, plan.line).every((l) => !mayHold(l.status))) plan.move = { to: "released", note: "every hold is released" };
      break;
    }
    case "commit": {
      if (line.status !== "reserved") break;
      if (r.outcome === "undeliverable") {
        // The product's answer is unknown and the key is spent: recorded, never guessed (see README).
        plan.line = { op: "noteLine", args: { lineIndex: line.index, reason: `commit undeliverable: ${why}` } };
        plan.problem = `line ${line.index}: the commit could not be delivered; whether the product committed it is unknown until it is reachable (its hold releases itself at its expiry if not)`;
        break;
      }
      if (r.outcome === "sealed") plan.line = { op: "commitLine", args: { lineIndex: line.index } };
      else {
        // The hold was gone when the commit arrived: only when the commit came later than the margin (see README).
        plan.line = { op: "releaseLine", args: { lineIndex: line.index, reason: `commit refused: ${why}` } };
        plan.problem = `line ${line.index} could not be committed (its hold expired or was released before the commit arrived): ${why}`;
      }
      const lines = after(order, plan.line);
      if (lines.some((l) => l.status === "reserved")) break;
      const committed = lines.filter((l) => l.status === "committed").length;
      if (committed === lines.length) plan.move = { to: "committed", note: "every line is committed" };
      else if (committed === 0) plan.move = { to: "released", note: "no line could be committed: every hold was gone before its commit arrived" };
      else plan.problem = `${plan.problem ? `${plan.problem}; ` : ""}the order is partially committed: ${committed} of ${lines.length} lines`;
      break;
    }
  }
  return empty(plan) ? undefined : plan;
}

export type Decision = { ok: true; plan?: Plan } | { ok: false; reason: string };

/** Commit: decide (recorded before anything is sent), then one commit message per line. Repeating it changes nothing. */
export function onCommit(order: OrderView, now: number, marginMs: number): Decision {
  if (order.status === "committing" || order.status === "committed") return { ok: true };
  const blocker = commitBlocker(order.status);
  if (blocker) return { ok: false, reason: blocker };
  if (now >= order.expiresAt) return { ok: false, reason: "the order has expired" };
  const short = order.lines.find((l) => l.holdExpiresAt === null || l.holdExpiresAt < now + marginMs);
  if (short) return { ok: false, reason: `line ${short.index}'s hold would not outlive the commit margin; the order can no longer commit` };
  return { ok: true, plan: { decideCommit: true, cancelExpiry: true, send: order.lines.map((l) => ({ kind: "commit", lineIndex: l.index })) } };
}

/** Cancel (or the order's expiry): release every line that may hold stock, including lines whose reserve receipt has not come. */
export function onRelease(order: OrderView, note: string): Decision {
  if (order.status === "committing" || order.status === "committed") return { ok: false, reason: `the order is ${order.status}; it can no longer be released` };
  if (!canMove(order.status, "releasing")) return { ok: true };
  return { ok: true, plan: { move: { to: "releasing", note }, releasesSent: true, cancelExpiry: true, send: releases(order) } };
}

/** A `releasing` order whose releases are not sent yet (the expiry moved it there): send them now. */
export function onReleasing(order: OrderView & { releasesSent: boolean }): Plan | undefined {
  if (order.status !== "releasing" || order.releasesSent) return undefined;
  return { releasesSent: true, send: releases(order) };
}
