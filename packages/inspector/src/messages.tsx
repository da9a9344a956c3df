import type { OutboxMessage, ReceiptEntry } from "@noema/cloudflare";
import type { PeerLink } from "./pages.js";
import { IntentDetails, json, Pager, Time } from "./parts.js";
import { OtherSide } from "./trail.js";

// Everything shown is escaped like any text: keys and Intents are the sender's.

type Target = OutboxMessage["to"];

export interface MessagesView {
  outbox: { messages: OutboxMessage[]; next?: number };
  receipts: { receipts: ReceiptEntry[]; next?: number };
  /** Where the shown receipts start, for the link back to the first. */
  receiptsAfter: number;
}

const OUTCOME_BADGE = { sealed: "Flat", refused: "Curved", undeliverable: "Critical" } as const;

/** The outbox (what is still to be delivered, with its attempts and last error) and the receipts of what was. */
export function Messages({ here, view, peer }: { here: string; view: MessagesView; peer: PeerLink }) {
  const { outbox, receipts } = view;
  const logAt = (sedimentId: number) => `${here}?after=${Math.max(0, sedimentId - 25)}#s-${sedimentId}`;
  const target = (to: Target) => {
    const link = peer(to.attractor, to.name);
    const text = `${to.attractor} ${to.name}`;
    return link ? <a href={link}>{text}</a> : text;
  };
  const receiptsPage = (after: number) => `${here}?${new URLSearchParams(after > 0 ? { receiptsAfter: String(after) } : {})}#messages`;
  return (
    <section class="card" id="messages">
      <h2>Messages</h2>
      <h3>Outbox: waiting for delivery</h3>
      {outbox.messages.length === 0 ? (
        <p class="muted">Nothing waiting.</p>
      ) : (
        <div class="scroll" tabindex={0}>
          <table data-outbox>
            <thead>
              <tr>
                <th scope="col">Message</th>
                <th scope="col">To</th>
                <th scope="col">Operations</th>
                <th scope="col">Attempts</th>
                <th scope="col">Next attempt</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {outbox.messages.map((m) => (
                <tr data-message={String(m.messageId)}>
                  <td>
                    #{m.messageId} <span class="muted mono">{m.key}</span>
                    <br />
                    <Time ms={m.createdAt} />
                  </td>
                  <td class="mono">{target(m.to)}</td>
                  <td>
                    <IntentDetails intent={m.intent} />
                  </td>
                  <td>{m.attempts}</td>
                  <td>
                    <Time ms={m.nextAttemptAt} /> <span class="muted" data-countdown={String(m.nextAttemptAt)}></span>
                  </td>
                  <td class={m.lastError ? "error" : "muted"}>{m.lastError ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {outbox.next !== undefined ? <p class="muted">More are waiting than shown here.</p> : null}
      <h3>Receipts: what became of messages sent</h3>
      {receipts.receipts.length === 0 ? (
        <p class="muted">No receipts{view.receiptsAfter > 0 ? " on this page" : " yet"}.</p>
      ) : (
        <div class="scroll" tabindex={0}>
          <table data-receipts>
            <thead>
              <tr>
                <th scope="col">Message</th>
                <th scope="col">To</th>
                <th scope="col">Outcome</th>
                <th scope="col">Sent in</th>
                <th scope="col">Recorded in</th>
                <th scope="col">Attempts</th>
                <th scope="col">The receiver's Seal</th>
              </tr>
            </thead>
            <tbody>
              {receipts.receipts.map((r) => (
                <tr data-receipt={String(r.messageId)}>
                  <td>
                    #{r.messageId} <span class="muted mono">{r.key}</span>
                  </td>
                  <td class="mono">{target(r.to)}</td>
                  <td>
                    <span class={`badge ${OUTCOME_BADGE[r.outcome]}`} data-outcome={r.outcome}>
                      {r.outcome}
                    </span>
                    {r.carried ? <span class="muted"> carried ({r.carried})</span> : null}
                    {r.error ? <div class="error">{r.error}</div> : null}
                  </td>
                  <td>
                    <a href={logAt(r.sentIn.sedimentId)}>#{r.sentIn.sedimentId}</a> step {r.sentIn.step}
                  </td>
                  <td>
                    <a href={logAt(r.sedimentId)}>#{r.sedimentId}</a>
                  </td>
                  <td>{r.attempts}</td>
                  <td>
                    {r.seal ? (
                      <>
                        {r.seal.success ? (
                          <OtherSide link={peer(r.to.attractor, r.to.name, r.seal.sedimentId)} text={`#${r.seal.sedimentId} there`} />
                        ) : (
                          <span class="error">refused: {r.seal.reason.kind}</span>
                        )}
                        <details>
                          <summary>Seal</summary>
                          <pre tabindex={0}>{json(r.seal)}</pre>
                        </details>
                      </>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        links={[
          ["First receipts", view.receiptsAfter > 0 ? receiptsPage(0) : undefined],
          ["More receipts", receipts.next !== undefined ? receiptsPage(receipts.next) : undefined],
        ]}
      />
    </section>
  );
}
