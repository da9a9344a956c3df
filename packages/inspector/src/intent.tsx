import type { ConnectionReport, Sieve } from "@noema/core";
import { ConnectionTable, type Frame, Page } from "./pages.js";
import { json } from "./parts.js";

export interface IntentLawView {
  /** The JSON as pasted, or the picked sediment's Intent. */
  text: string;
  /** Where a picked Intent came from. */
  picked?: { world: string; sedimentId: number };
  outcome?: { version: number; sieve: Sieve; report: ConnectionReport } | { error: string };
}


/** For a pasted or picked Intent: its Sieve under the law it names, and the Connection it would get to the latest. */
export function IntentLaw({ frame, view }: { frame: Frame; view: IntentLawView }) {
  const action = `${frame.base}/law/intent`;
  const o = view.outcome;
  return (
    <Page frame={frame}>
      <h1>
        <a href={`${frame.base}/law`}>Law</a>: an Intent's Sieve and Connection
      </h1>
      <section class="card">
        {view.picked ? (
          <p>
            The Intent of sediment #{view.picked.sedimentId} in{" "}
            <a href={`${frame.base}/worlds/${encodeURIComponent(view.picked.world)}#log`}>{view.picked.world}</a>.
          </p>
        ) : (
          <p class="muted">Paste an Intent as JSON (its nomos stamp names the law it was built against; without one it reads as the latest), or pick one from a World's log.</p>
        )}
        <form method="post" action={action} class="compose wide">
          <label>
            Intent (JSON)
            <textarea name="intent" rows={10} required spellcheck={false}>
              {view.text}
            </textarea>
          </label>
          <div class="inline">
            <button type="submit">Show Sieve and Connection</button>
          </div>
        </form>
      </section>
      {o === undefined ? null : "error" in o ? (
        <section class="card" id="result">
          <h2>Not an Intent of this law</h2>
          <p class="error" role="alert">
            {o.error}
          </p>
        </section>
      ) : (
        <section class="card" id="result">
          <h2>
            Built against v{o.version}: <span class={`badge ${o.report.type}`} data-connection-type={o.report.type}>{o.report.type}</span> to v{o.report.to}
          </h2>
          <h3>Sieve (the elements it depends on)</h3>
          <pre tabindex={0} data-sieve>{json(o.sieve)}</pre>
          {o.report.steps.length === 0 ? <p class="muted">It is already under the latest law: nothing to connect.</p> : null}
          {o.report.steps.map((step) => (
            <ConnectionTable step={step} forIntent />
          ))}
        </section>
      )}
    </Page>
  );
}
