import type { Connection, ConnectionReport, Explanation, Json, Precedent, Sediment, Verification } from "@noema/core";
import type { Child } from "hono/jsx";
import { FULL_VERIFY_EVERY } from "@noema/core/runtime";
import type { FrozenSummary, NomosReport } from "@noema/cloudflare";
import type { TokenScope } from "@noema/cloudflare/http";
import type { ChainStatus, TailCheck } from "@noema/cloudflare";
import { Messages, type MessagesView } from "./messages.js";
import { IntentDetails, json, Pager, Time } from "./parts.js";
import { type Overview, OverviewCard } from "./overview.js";
import { Chart, type ChartSpec, State, type StateView } from "./state.js";
import { Trail, type TrailView } from "./trail.js";

// Every <pre> may scroll, so it takes the keyboard focus (tabindex 0) to be scrolled without a mouse.
// Every value below goes through Hono JSX, which escapes text and attributes: stored Intents,
// keys and refusal inputs are attacker-controlled, and none of it is ever inserted raw.

/** What every signed-in page shows in its header. */
export interface Frame {
  base: string;
  /** The app's other inspectors. */
  nav?: { label: string; href: string }[];
  title: string;
  scope: TokenScope;
}

const short = (hash: string) => hash.slice(0, 12);

export function Document({ base, title, children }: { base: string; title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title} · Noema inspector</title>
        <link rel="stylesheet" href={`${base}/assets/style.css`} />
        <script src={`${base}/assets/client.js`} defer></script>
      </head>
      <body>{children}</body>
    </html>
  );
}

export function Page({ frame, children }: { frame: Frame; children: Child }) {
  const { base } = frame;
  return (
    <Document base={base} title={frame.title}>
      <header class="top">
        <span class="brand">Noema inspector</span>
        <a href={`${base}/worlds`}>Worlds</a>
        <a href={`${base}/law`}>Law</a>
        {(frame.nav ?? []).map((n) => (
          <a href={n.href}>{n.label}</a>
        ))}
        <span class="badge">{frame.scope === "write" ? "full access" : "read only"}</span>
        <form method="post" action={`${base}/sign-out`}>
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>{children}</main>
    </Document>
  );
}

export function SignIn({ base, error }: { base: string; error?: string }) {
  return (
    <Document base={base} title="Sign in">
      <main class="signin">
        <section class="card">
          <h1>Noema inspector</h1>
          <form method="post" action={`${base}/sign-in`}>
            <label>
              API token
              <input type="password" name="token" autocomplete="current-password" required autofocus />
            </label>
            {error ? (
              <p class="error" role="alert">
                {error}
              </p>
            ) : null}
            <button type="submit">Sign in</button>
          </form>
        </section>
      </main>
    </Document>
  );
}

/** A page of the app's catalog of Worlds, when it has one. */
export interface CatalogView {
  ids: string[];
  next?: string;
  /** The id the page lists after ("" for the first page). */
  from: string;
}

export function Worlds({ frame, label, error, catalog }: { frame: Frame; label: string; error?: string; catalog?: CatalogView }) {
  const list = (from: string) => `${frame.base}/worlds?${new URLSearchParams(from ? { from } : {})}#catalog`;
  return (
    <Page frame={frame}>
      <h1>Worlds</h1>
      <section class="card">
        <p class="muted">{catalog ? "Open a World by its id, even one the catalog does not list." : "No catalog of Worlds here: type the id of one to open it."}</p>
        <form class="inline" method="get" action={`${frame.base}/worlds`}>
          <label>
            {label}
            <input name="id" required maxlength={128} />
          </label>
          <button type="submit">Open</button>
        </form>
        {error ? <p class="error">{error}</p> : null}
      </section>
      {catalog ? (
        <section class="card" id="catalog">
          <h2>Catalog</h2>
          <form class="inline" method="get" action={`${frame.base}/worlds#catalog`}>
            <label>
              List ids after
              <input name="from" maxlength={128} value={catalog.from} />
            </label>
            <button type="submit">List</button>
          </form>
          {catalog.ids.length === 0 ? (
            <p class="muted">No more Worlds in the catalog{catalog.from ? ` after ${catalog.from}` : ""}.</p>
          ) : (
            <ul class="catalog" data-catalog="">
              {catalog.ids.map((id) => (
                <li>
                  <a href={`${frame.base}/worlds/${encodeURIComponent(id)}`}>{id}</a>
                </li>
              ))}
            </ul>
          )}
          <Pager
            links={[
              ["First", catalog.from ? list("") : undefined],
              ["Next", catalog.next !== undefined ? list(catalog.next) : undefined],
            ]}
          />
        </section>
      ) : null}
    </Page>
  );
}

export interface WorldView {
  name: string;
  nomos: NomosReport;
  /** The bounded check every render makes, and the full walk when asked for. */
  tail: TailCheck;
  /** What the background verification last established (its checkpoint, a break it found). */
  chain: ChainStatus;
  verification?: Verification;
  /** The app's summary of this World, shown first. */
  overview?: Overview;
  trail: TrailView;
  state: StateView;
  charts: { chart: ChartSpec; sample: Sediment[] }[];
  log: { sediments: Sediment[]; after: number; limit: number; next?: number };
  /** Each entry's explain, as it ran under its law; absent when its law is no longer in this code. */
  explain: (s: Sediment) => Explanation | undefined;
  /** Where another World is shown (a message's sender, a receipt's receiver), when an inspector of this app shows it. */
  peer: PeerLink;
  messages: MessagesView;
  frozen: FrozenView;
  precedents: { precedents: Precedent[]; next?: number };
  filter: { kind?: string; nomosVersion?: number; after?: number };
  kinds: readonly string[];
}

export function World({ frame, view }: { frame: Frame; view: WorldView }) {
  const { name, nomos, tail, verification, log } = view;
  const here = `${frame.base}/worlds/${encodeURIComponent(name)}`;
  const head = log.sediments[log.sediments.length - 1]?.sedimentId ?? log.after;
  const brokenAt = verification && !verification.ok ? verification.brokenAt : !tail.ok ? tail.brokenAt : undefined;
  return (
    <Page frame={frame}>
      <h1>{name}</h1>
      <nav class="jump" aria-label="On this page">
        <a href={`${here}/compose`}>Compose an Intent</a>
        {view.overview ? <a href="#overview">{view.overview.title}</a> : null}
        <a href="#trail">Trail</a>
        <a href="#state">State</a>
        <a href="#log">Log</a>
        <a href="#frozen">Frozen</a>
        <a href="#messages">Messages</a>
        <a href="#precedents">Precedents</a>
      </nav>
      {/* Live only on the newest page: the script subscribes over a WebSocket, or polls if it cannot. */}
      {log.next === undefined ? (
        <p class="live" data-live={`${here}/live`} data-poll={`${here}/newer`} data-entries={`${here}/entries`} data-head={String(head)} role="status" hidden>
          <span data-count>0</span> new sediment(s) added to the log below since this page loaded; state and charts are as of loading. <a href={here}>Reload</a>
        </p>
      ) : null}
      <section class="card grid">
        <LawHeld nomos={nomos} />
        <Chain here={here} tail={tail} chain={view.chain} {...(verification ? { verification } : {})} />
      </section>
      {view.overview ? <OverviewCard overview={view.overview} /> : null}
      <Trail here={here} view={view.trail} peer={view.peer} />
      <State here={here} view={view.state} />
      {view.charts.map((c) => (
        <Chart chart={c.chart} sample={c.sample} head={tail.length} />
      ))}
      <Log here={here} base={frame.base} name={name} log={log} filter={view.filter} brokenAt={brokenAt} explain={view.explain} peer={view.peer} />
      <Frozen here={here} view={view.frozen} />
      <Messages here={here} view={view.messages} peer={view.peer} />
      <Precedents here={here} view={view} />
    </Page>
  );
}

function LawHeld({ nomos }: { nomos: NomosReport }) {
  const { held, latest, history, migrationError } = nomos;
  return (
    <dl>
      <dt>Law held</dt>
      <dd>
        {held.name} v{held.version} <code title={held.hash}>{short(held.hash)}</code>
        {latest.version !== held.version ? <span class="muted"> (code declares v{latest.version})</span> : null}
      </dd>
      <dt>Applied</dt>
      <dd>
        {history.map((h) => (
          <div>
            v{h.version} <code title={h.hash}>{short(h.hash)}</code> at <Time ms={h.appliedAt} />
          </div>
        ))}
      </dd>
      {migrationError ? (
        <>
          <dt>Migration error</dt>
          <dd class="error">
            v{migrationError.version}: {migrationError.message} (<Time ms={migrationError.at} />)
          </dd>
        </>
      ) : null}
    </dl>
  );
}

function Chain({ here, tail, chain, verification: v }: { here: string; tail: TailCheck; chain: ChainStatus; verification?: Verification }) {
  return (
    <dl>
      <dt>Chain</dt>
      <dd>
        {v ? (
          v.ok ? (
            <span class="status ok" data-chain="ok">
              Verified: all {v.length} sediment(s), head <code title={v.head}>{short(v.head)}</code>
            </span>
          ) : (
            <span class="status bad" data-chain="broken" role="alert">
              Broken at sediment #{v.brokenAt}: {v.length} verified before it
            </span>
          )
        ) : tail.ok ? (
          <span class="status ok" data-chain="ok">
            {tail.length === 0 ? "Empty" : `Newest verified: #${tail.from} to #${tail.length}`}
            {tail.length > 0 ? (
              <>
                , head <code title={tail.head}>{short(tail.head)}</code>
              </>
            ) : null}
          </span>
        ) : (
          <span class="status bad" data-chain="broken" role="alert">
            Broken at sediment #{tail.brokenAt} (checked #{tail.from} to #{tail.length})
          </span>
        )}
      </dd>
      {v ? null : (
        <dd>
          <a href={`${here}?verify=full`} data-verify-full>
            Verify all {tail.length} sediments
          </a>
        </dd>
      )}
      <dt>Background verification</dt>
      <dd>
        <Checkpoint chain={chain} />
      </dd>
    </dl>
  );
}

/** The last full pass from the anchor, run a slice per alarm: the head it verified, or the first break it found. */
function Checkpoint({ chain: { checkpoint, pass } }: { chain: ChainStatus }) {
  if (pass?.broken) {
    return (
      <span class="status bad" data-checkpoint="broken" role="alert">
        Broken at sediment #{pass.broken.brokenAt}, found by the pass of <Time ms={pass.startedAt} />
      </span>
    );
  }
  const running = pass && pass.finishedAt === null ? ` A pass is running: through #${pass.through} of #${pass.target}.` : "";
  return checkpoint ? (
    <span data-checkpoint="ok">
      Checkpoint: all through #{checkpoint.sedimentId} <code title={checkpoint.hash}>{short(checkpoint.hash)}</code>, at <Time ms={checkpoint.verifiedAt} />.{running}
    </span>
  ) : (
    <span class="muted" data-checkpoint="none">
      No full pass has finished yet: one runs every {FULL_VERIFY_EVERY.toLocaleString("en")} sediments.{running}
    </span>
  );
}

/** A link to a World by its Attractor (binding or class name) and name, at one sediment when given. */
export type PeerLink = (attractor: string, name: string, sedimentId?: number) => string | undefined;

/** Sent by another World (`origin.message`), as messages record it. */
interface MessageOrigin {
  from?: { attractor?: string; name?: string } | string;
  sedimentId?: number;
  step?: number;
  messageId?: string;
}

/** Where an Intent came from, when not sent as it is under the law it ran on. */
function Origin({ sediment: { origin: o }, peer }: { sediment: Sediment; peer: PeerLink }) {
  const message = o && "message" in o ? (o as { message?: MessageOrigin }).message : undefined;
  type Answer = { messageId?: number; outcome?: string };
  const receipt = o && "receipt" in o ? (o as { receipt?: Answer }).receipt : undefined;
  if (receipt) {
    return (
      <span class="badge origin" data-origin="receipt">
        receipt of message #{receipt.messageId}: {receipt.outcome}
      </span>
    );
  }
  // The receipts of one delivery, recorded together: grouped by outcome, so a usual delivery reads as one short line.
  const receipts = o && "receipts" in o ? (o as { receipts?: Answer[] }).receipts : undefined;
  if (receipts) {
    const byOutcome = new Map<string | undefined, string[]>();
    for (const r of receipts) byOutcome.set(r.outcome, [...(byOutcome.get(r.outcome) ?? []), `#${r.messageId}`]);
    return (
      <span class="badge origin" data-origin="receipts">
        receipts of messages {[...byOutcome].map(([outcome, ids]) => `${ids.join(", ")}: ${outcome}`).join("; ")}
      </span>
    );
  }
  if (message) {
    const from = typeof message.from === "string" ? message.from : [message.from?.attractor, message.from?.name].filter(Boolean).join(" ");
    const sender = typeof message.from === "object" && message.from.attractor && message.from.name ? peer(message.from.attractor, message.from.name, message.sedimentId) : undefined;
    const text = `message from ${from || "another World"}${message.sedimentId !== undefined ? ` #${message.sedimentId}` : ""}`;
    return (
      <span class="badge origin" data-origin="message">
        {sender ? <a href={sender}>{text}</a> : text}
      </span>
    );
  }
  if (!o) return <span class="muted">sent</span>;
  const text = o.cryostasis ? `woken (${o.cryostasis.mode})` : o.reforged ? `reforged from v${o.nomos.version}` : `carried from v${o.nomos.version}`;
  return (
    <span class="badge origin" data-origin={o.cryostasis ? "woken" : o.reforged ? "reforged" : "carried"}>
      {text}
    </span>
  );
}

interface LogProps {
  here: string;
  base: string;
  name: string;
  log: WorldView["log"];
  filter: WorldView["filter"];
  brokenAt: number | undefined;
  explain: WorldView["explain"];
  peer: PeerLink;
}

function Log({ here, base, name, log, filter, brokenAt, explain, peer }: LogProps) {
  const keep = (after: number) => {
    const q = new URLSearchParams({ after: String(after) });
    if (filter.kind) q.set("kind", filter.kind);
    if (filter.nomosVersion !== undefined) q.set("nomosVersion", String(filter.nomosVersion));
    return `${here}?${q}`;
  };
  return (
    <section class="card" id="log">
      <h2>Log</h2>
      {log.sediments.length === 0 ? <p class="muted">No sediments on this page.</p> : null}
      <LogEntries base={base} name={name} sediments={log.sediments} brokenAt={brokenAt} explain={explain} peer={peer} />
      <Pager
        links={[
          ["Older", log.after > 0 ? `${keep(Math.max(0, log.after - log.limit))}#log` : undefined],
          ["Newer", log.next !== undefined ? `${keep(log.next)}#log` : undefined],
        ]}
      />
    </section>
  );
}

/** Log entries newest first (what happened last is what someone on call looks for); also what the live script inserts. */
export function LogEntries({ base, name, sediments, brokenAt, explain, peer }: { base: string; name: string; sediments: Sediment[]; brokenAt?: number | undefined; explain: WorldView["explain"]; peer: PeerLink }) {
  return (
    <ol class="log" data-log="">
      {[...sediments].reverse().map((s) => (
        <LogEntry base={base} name={name} s={s} broken={s.sedimentId === brokenAt} explained={explain(s)} peer={peer} />
      ))}
    </ol>
  );
}

function LogEntry({ base, name, s, broken, explained, peer }: { base: string; name: string; s: Sediment; broken: boolean; explained: Explanation | undefined; peer: PeerLink }) {
  const pick = `${base}/law/intent?${new URLSearchParams({ world: name, sediment: String(s.sedimentId) })}`;
  return (
    <li data-sediment={String(s.sedimentId)} id={`s-${s.sedimentId}`} class={broken ? "broken" : undefined}>
      <details>
        <summary>
          <span class="mono">#{s.sedimentId}</span>
          <Time ms={s.timestamp} />
          <span>
            {s.intent.steps.map((step) => step.op).join(", ")}
            {s.intent.idempotencyKey !== undefined ? <span class="muted"> key {s.intent.idempotencyKey}</span> : null}
          </span>
          <code title={s.hash}>{short(s.hash)}</code>
          <Origin sediment={s} peer={peer} />
        </summary>
        <div class="entry">
          <h3>Intent</h3>
          <pre tabindex={0}>{json(s.intent)}</pre>
          <h3>Outputs</h3>
          <pre tabindex={0}>{json(s.outputs)}</pre>
          <h3>Seal</h3>
          <pre tabindex={0}>{json({ sedimentId: s.sedimentId, hash: s.hash, prevHash: s.prevHash, timestamp: s.timestamp, world: s.world, ...(s.origin ? { origin: s.origin } : {}) })}</pre>
          <h3>Explain: the SQL it ran, under v{s.world.nomosVersion}</h3>
          {explained ? (
            <>
              {explained.steps.map((step, i) => (
                <pre tabindex={0} data-explain={String(i)}>{`-- step ${i}: ${step.op}\n${step.statements.map((st) => `${st.sql}\n-- params: ${JSON.stringify(st.params)}`).join("\n")}`}</pre>
              ))}
              <p>
                Sieve: <code>{Object.keys(explained.sieve).join(", ")}</code>
              </p>
            </>
          ) : (
            <p class="muted">Its law (v{s.world.nomosVersion}) is not in this code.</p>
          )}
          <p>
            <a href={pick}>Its Sieve and Connection to the latest law</a>
          </p>
        </div>
      </details>
    </li>
  );
}

/** A page of the Cryostasis queue in wake order; `next` is the last shown, where the next page starts. */
export interface FrozenView {
  frozen: FrozenSummary[];
  next?: { wakeAt: number; cryoId: number };
  /** Not the first page. */
  paged: boolean;
}

function Frozen({ here, view }: { here: string; view: FrozenView }) {
  const { frozen, next } = view;
  const page = (after?: { wakeAt: number; cryoId: number }) => `${here}?${new URLSearchParams(after ? { frozenAfter: `${after.wakeAt}:${after.cryoId}` } : {})}#frozen`;
  return (
    <section class="card" id="frozen">
      <h2>Frozen Intents</h2>
      {frozen.length === 0 ? (
        <p class="muted">None pending{view.paged ? " after these" : ""}.</p>
      ) : (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>Wakes</th>
                <th>Key</th>
                <th>Operations</th>
                <th>Attempts</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {frozen.map((f) => (
                <tr data-cryo={String(f.cryoId)}>
                  <td>
                    <Time ms={f.wakeAt} /> <span class="muted" data-countdown={String(f.wakeAt)}></span>
                  </td>
                  <td class="mono">{f.key ?? "—"}</td>
                  <td>
                    <IntentDetails intent={f.intent} />
                  </td>
                  <td>{f.attempts}</td>
                  <td class={f.lastError ? "error" : "muted"}>{f.lastError ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        links={[
          ["First frozen Intents", view.paged ? page() : undefined],
          ["More frozen Intents", next ? page(next) : undefined],
        ]}
      />
    </section>
  );
}

function Precedents({ here, view }: { here: string; view: WorldView }) {
  const { precedents, next } = view.precedents;
  const { kind, nomosVersion } = view.filter;
  const more = new URLSearchParams();
  if (kind) more.set("kind", kind);
  if (nomosVersion !== undefined) more.set("nomosVersion", String(nomosVersion));
  if (next !== undefined) more.set("precedentsAfter", String(next));
  return (
    <section class="card" id="precedents">
      <h2>Precedents (refusals)</h2>
      <form class="inline" method="get" action={`${here}#precedents`}>
        <label>
          Kind
          <select name="kind">
            <option value="">any</option>
            {view.kinds.map((k) => (
              <option value={k} selected={k === kind}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Law version
          <input name="nomosVersion" inputmode="numeric" size={4} value={nomosVersion === undefined ? "" : String(nomosVersion)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {precedents.length === 0 ? (
        <p class="muted">No Precedents match.</p>
      ) : (
        <ol class="log">
          {precedents.map((p) => (
            <li data-precedent={String(p.precedentId)}>
              <details>
                <summary>
                  <span class="mono">#{p.precedentId}</span>
                  <Time ms={p.timestamp} />
                  <span>{p.reason.message}</span>
                  <span class="badge">{p.reason.kind}</span>
                  <span class="muted">v{p.nomosVersion}</span>
                </summary>
                <h3>Reason</h3>
                <pre tabindex={0}>{json(p.reason)}</pre>
                <h3>Input as received</h3>
                <pre tabindex={0}>{json(p.intent as Json)}</pre>
              </details>
            </li>
          ))}
        </ol>
      )}
      {next !== undefined ? (
        <Pager links={[["More", `${here}?${more}#precedents`]]} />
      ) : null}
    </section>
  );
}

export interface VersionRow {
  version: number;
  hash: string;
  elements: number;
  migration?: string;
  reforge: boolean;
  critical?: string;
}

export function Law({ frame, name, versions, from, to, report, error }: { frame: Frame; name: string; versions: VersionRow[]; from: number; to: number; report?: ConnectionReport; error?: string }) {
  return (
    <Page frame={frame}>
      <h1>Law: {name}</h1>
      <section class="card scroll">
        <h2>Versions</h2>
        <table>
          <thead>
            <tr>
              <th>Version</th>
              <th>Hash</th>
              <th>Elements</th>
              <th>From the previous</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr>
                <td>v{v.version}</td>
                <td>
                  <code title={v.hash}>{short(v.hash)}</code>
                </td>
                <td>{v.elements}</td>
                <td>
                  {v.migration === undefined ? "—" : v.reforge ? "migration, reforge" : "migration"}
                  {v.critical ? <span class="badge Critical"> critical: {v.critical}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <p>
        <a href={`${frame.base}/law/intent`}>The Sieve and Connection of an Intent</a>
      </p>
      <section class="card" id="connection">
        <h2>Connection</h2>
        <form class="inline" method="get" action={`${frame.base}/law#connection`}>
          <VersionPick label="From" name="from" value={from} versions={versions} />
          <VersionPick label="To" name="to" value={to} versions={versions} />
          <button type="submit">Compare</button>
        </form>
        {error ? <p class="error">{error}</p> : null}
        {report ? (
          <>
            <p>
              v{report.from} → v{report.to}: <span class={`badge ${report.type}`}>{report.type}</span>
            </p>
            {report.steps.map((step) => (
              <ConnectionTable step={step} />
            ))}
          </>
        ) : null}
      </section>
    </Page>
  );
}

function VersionPick({ label, name, value, versions }: { label: string; name: string; value: number; versions: VersionRow[] }) {
  return (
    <label>
      {label}
      <select name={name}>
        {versions.map((v) => (
          <option value={String(v.version)} selected={v.version === value}>
            v{v.version}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The changes of one step; `forIntent` adds whether each touches that Intent's Sieve. */
export function ConnectionTable({ step, forIntent = false }: { step: Connection; forIntent?: boolean }) {
  return (
    <div class="scroll">
      <h3>
        v{step.from.version} → v{step.to.version} <span class={`badge ${step.type}`}>{step.type}</span>
      </h3>
      {step.changes.length === 0 ? (
        <p class="muted">No structural change.</p>
      ) : (
        <table data-connection={`${step.from.version}-${step.to.version}`}>
          <thead>
            <tr>
              <th>Element</th>
              <th>Change</th>
              <th>Detail</th>
              <th>Effect</th>
              <th>Affects</th>
              {forIntent ? <th>This Intent</th> : null}
            </tr>
          </thead>
          <tbody>
            {step.changes.map((c) => (
              <tr>
                <td class="mono">{c.element}</td>
                <td>{c.kind}</td>
                <td>{c.detail}</td>
                <td>
                  <span class={`badge ${c.effect}`}>{c.effect}</span>
                </td>
                <td class="mono">{c.affects.length ? c.affects.join(", ") : "—"}</td>
                {forIntent ? <td data-relevant={String(c.relevant)}>{c.relevant ? "affected" : "not affected"}</td> : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
