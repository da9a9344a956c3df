import type { RefusalSeal, Sediment, SuccessSeal } from "@noema/core";
import type { Attractor } from "@noema/cloudflare";
import type { OutboxMessage, ReceiptEntry } from "@noema/cloudflare";
import type { PeerLink } from "./pages.js";
import { Pager, Time } from "./parts.js";

// Everything shown is escaped like any text: targets, keys and refusal messages are the sender's or the receiver's.

/** A page of the messages a World sent, by messageId: the settled ones' receipts and the ones still waiting. */
export interface TrailView {
  receipts: ReceiptEntry[];
  waiting: OutboxMessage[];
  /** The sediments here the page names (each message's sender, each receipt), by id; one missing is shown without its time. */
  sediments: ReadonlyMap<number, Sediment>;
  /** The messageId the page lists after. */
  after: number;
  next?: number;
}

type Target = OutboxMessage["to"];

/** One hop of a message, here or on the other side; `rank` keeps cause before effect when two share a time. */
type TrailEvent = { at: number; rank: number; messageId: number } & (
  | { kind: "sent"; to: Target; sedimentId: number; ops: string[] }
  | { kind: "sealed"; to: Target; seal: SuccessSeal; carried?: string }
  | { kind: "refused"; to: Target; seal: RefusalSeal }
  | { kind: "undeliverable"; to: Target; attempts: number; error?: string }
  | { kind: "recorded"; sedimentId: number; outcome: ReceiptEntry["outcome"] }
  | { kind: "waiting"; to: Target; attempts: number; lastError: string | null }
);

/** What a sediment here ran, as its log entry lists it. */
const opsOf = (s: Sediment | undefined) => (!s ? "not readable here" : s.intent.steps.length === 0 ? "no operations" : s.intent.steps.map((step) => step.op).join(", "));

/** The operations of the message a `$send` step carried, read defensively: a stored step is plain JSON. */
function sentOps(s: Sediment | undefined, step: number): string[] {
  const intent = (s?.intent.steps[step]?.args as { intent?: { steps?: { op?: unknown }[] } } | undefined)?.intent;
  return (intent?.steps ?? []).flatMap((x) => (typeof x.op === "string" ? [x.op] : []));
}

/** Every hop of the page's messages, oldest first: sent here, answered there, its receipt recorded here. */
export function trailEvents(view: TrailView): TrailEvent[] {
  const at = (id: number) => view.sediments.get(id)?.timestamp;
  const events: TrailEvent[] = [];
  for (const r of view.receipts) {
    const recordedAt = at(r.sedimentId) ?? 0;
    const sender = view.sediments.get(r.sentIn.sedimentId);
    events.push({ kind: "sent", at: sender?.timestamp ?? recordedAt, rank: 0, messageId: r.messageId, to: r.to, sedimentId: r.sentIn.sedimentId, ops: sentOps(sender, r.sentIn.step) });
    if (r.seal?.success) events.push({ kind: "sealed", at: r.seal.timestamp, rank: 1, messageId: r.messageId, to: r.to, seal: r.seal, ...(r.carried ? { carried: r.carried } : {}) });
    else if (r.seal) events.push({ kind: "refused", at: r.seal.timestamp, rank: 1, messageId: r.messageId, to: r.to, seal: r.seal });
    else events.push({ kind: "undeliverable", at: recordedAt, rank: 1, messageId: r.messageId, to: r.to, attempts: r.attempts, ...(r.error ? { error: r.error } : {}) });
    events.push({ kind: "recorded", at: recordedAt, rank: 2, messageId: r.messageId, sedimentId: r.sedimentId, outcome: r.outcome });
  }
  for (const m of view.waiting) {
    events.push({ kind: "sent", at: at(m.sentIn.sedimentId) ?? m.createdAt, rank: 0, messageId: m.messageId, to: m.to, sedimentId: m.sentIn.sedimentId, ops: m.intent.steps.map((s) => s.op) });
    events.push({ kind: "waiting", at: m.nextAttemptAt, rank: 1, messageId: m.messageId, to: m.to, attempts: m.attempts, lastError: m.lastError });
  }
  return events.sort((a, b) => a.at - b.at || a.rank - b.rank || a.messageId - b.messageId);
}

/**
 * One business operation followed across Worlds: each message this World sent, the receiver's
 * Seal or refusal, and the receipt recorded here, in time order, each linked to its sediment.
 */
export function Trail({ here, view, peer }: { here: string; view: TrailView; peer: PeerLink }) {
  const events = trailEvents(view);
  const logAt = (sedimentId: number) => `${here}?after=${Math.max(0, sedimentId - 25)}#s-${sedimentId}`;
  const hereAt = (sedimentId: number) => (
    <>
      sediment <a href={logAt(sedimentId)}>#{sedimentId}</a> <span class="muted">({opsOf(view.sediments.get(sedimentId))})</span>
    </>
  );
  const world = (to: Target) => {
    const link = peer(to.attractor, to.name);
    const text = `${to.attractor} ${to.name}`;
    return <span class="mono">{link ? <a href={link}>{text}</a> : text}</span>;
  };
  const page = (after: number) => `${here}?${new URLSearchParams(after > 0 ? { trailAfter: String(after) } : {})}#trail`;
  return (
    <section class="card" id="trail">
      <h2>Trail: messages sent and what became of them</h2>
      {events.length === 0 ? (
        <p class="muted">No messages sent{view.after > 0 ? " after these" : ""}.</p>
      ) : (
        <ol class="trail" data-trail="">
          {events.map((e) => (
            <li data-event={e.kind} data-at={String(e.at)} data-trail-message={String(e.messageId)}>
              <Time ms={e.at} />
              <span>
                {e.kind === "sent" ? (
                  <>
                    Here, {hereAt(e.sedimentId)} sent message #{e.messageId} <strong>{e.ops.join(", ")}</strong> to {world(e.to)}
                  </>
                ) : e.kind === "sealed" ? (
                  <>
                    There, {world(e.to)} sealed message #{e.messageId} as <OtherSide link={peer(e.to.attractor, e.to.name, e.seal.sedimentId)} text={`sediment #${e.seal.sedimentId}`} />
                    {e.carried ? <span class="muted"> (carried: {e.carried})</span> : null}
                  </>
                ) : e.kind === "refused" ? (
                  <>
                    There, {world(e.to)} <span class="error">refused</span> message #{e.messageId}: {e.seal.reason.kind}: {e.seal.reason.message} (
                    <OtherSide link={withHash(peer(e.to.attractor, e.to.name), "precedents")} text={`Precedent #${e.seal.precedentId}`} />)
                  </>
                ) : e.kind === "undeliverable" ? (
                  <>
                    Message #{e.messageId} to {world(e.to)} <span class="error">undeliverable</span> after {e.attempts} attempt(s){e.error ? `: ${e.error}` : ""}
                  </>
                ) : e.kind === "recorded" ? (
                  <>
                    Here, the receipt of message #{e.messageId} (<span data-outcome={e.outcome}>{e.outcome}</span>) was recorded as {hereAt(e.sedimentId)}
                  </>
                ) : (
                  <>
                    Message #{e.messageId} to {world(e.to)} still waiting: next attempt <span data-countdown={String(e.at)}></span>, {e.attempts} attempt(s) so far
                    {e.lastError ? <span class="error">; last error: {e.lastError}</span> : null}
                  </>
                )}
              </span>
            </li>
          ))}
        </ol>
      )}
      <Pager
        links={[
          ["First messages", view.after > 0 ? page(0) : undefined],
          ["Later messages", view.next !== undefined ? page(view.next) : undefined],
        ]}
      />
    </section>
  );
}

const withHash = (link: string | undefined, hash: string) => (link ? `${link}#${hash}` : undefined);

/** A link to a sediment on the other side, when an inspector of this app shows that World. */
export function OtherSide({ link, text }: { link: string | undefined; text: string }) {
  return link ? (
    <a href={link} data-other-side="">
      {text}
    </a>
  ) : (
    <span>{text}</span>
  );
}

/** Messages on one page of the trail. */
export const TRAIL_PAGE = 25;
/** Ids at most this far apart are read as one page of the log: fewer calls, a few entries more. */
const RUN_GAP = 4;

type TrailSource = Pick<DurableObjectStub<Attractor>, "receipts" | "outbox" | "sediments">;

/**
 * The messages sent after `after` (a messageId), settled or waiting, merged in id order, and
 * the sediments here they name: bounded by the page, never the whole log.
 */
export async function trailPage(world: TrailSource, after: number, limit = TRAIL_PAGE): Promise<TrailView> {
  const [settled, pending] = await Promise.all([world.receipts({ after, limit }), world.outbox({ after, limit })]);
  const receipts = settled.receipts as ReceiptEntry[];
  // A message delivered between the two reads is listed once, by its receipt.
  const waiting = (pending.messages as OutboxMessage[]).filter((m) => !receipts.some((r) => r.messageId === m.messageId));
  const ids = [...receipts.map((r) => r.messageId), ...waiting.map((m) => m.messageId)].sort((a, b) => a - b);
  // Each list is complete up to its last id, so the merged page is complete up to its limit-th.
  const more = ids.length > limit || settled.next !== undefined || pending.next !== undefined;
  const last = ids[Math.min(limit, ids.length) - 1];
  const shown = (id: number) => last === undefined || id <= last;
  const page = { receipts: receipts.filter((r) => shown(r.messageId)), waiting: waiting.filter((m) => shown(m.messageId)) };
  const named = [...page.receipts.flatMap((r) => [r.sentIn.sedimentId, r.sedimentId]), ...page.waiting.map((m) => m.sentIn.sedimentId)];
  return { ...page, sediments: await sedimentsAt(world, named), after, ...(more && last !== undefined ? { next: last } : {}) };
}

/** The sediments with these ids, a page of the log per run of nearby ids; one that cannot be read (archived away) is left out. */
async function sedimentsAt(world: TrailSource, ids: number[]): Promise<Map<number, Sediment>> {
  const wanted = new Set(ids);
  const runs: [number, number][] = [];
  for (const id of [...wanted].sort((a, b) => a - b)) {
    const run = runs[runs.length - 1];
    if (run && id - run[1] <= RUN_GAP) run[1] = id;
    else runs.push([id, id]);
  }
  const pages = await Promise.all(runs.map(([from, to]) => world.sediments(from - 1, to - from + 1).catch(() => ({ sediments: [] }))));
  const found = pages.flatMap((p) => p.sediments as Sediment[]).filter((s) => wanted.has(s.sedimentId));
  return new Map(found.map((s) => [s.sedimentId, s]));
}
