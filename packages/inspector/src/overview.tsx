import { Time } from "./parts.js";

// An app's own summary of a World, shown first on its page. Plain data, rendered (and escaped) here:
// an app says what to show, never how, so it cannot put markup on the page.

/** A value; a value that links somewhere (another World's page, say: see `OverviewContext.link`); or a time (ms since the epoch). */
export type OverviewCell = string | number | null | { text: string | number; href?: string | undefined } | { at: number };

/** What an app shows first on a World's page: a few facts and a table, for example an order's status and its lines. */
export interface Overview {
  /** The heading, for example "Order". */
  title: string;
  /** Facts as label and value, in order; each value is marked `data-fact="<label>"` for tests. */
  facts?: readonly { label: string; value: OverviewCell }[];
  /** A table, for example the order's lines: each cell is marked `data-column="<column>"`. */
  table?: { caption: string; columns: readonly string[]; rows: readonly (readonly OverviewCell[])[] };
}

/** What an app's `overview` gets besides the World's name. */
export interface OverviewContext {
  /**
   * The inspector page of another World of this app (by its Attractor's binding or class name,
   * see `peers`), at one sediment when given; undefined when no inspector of this app shows it.
   */
  link: (attractor: string, name: string, sedimentId?: number) => string | undefined;
}

function Cell({ value }: { value: OverviewCell }) {
  if (value === null) return <span class="muted">—</span>;
  if (typeof value !== "object") return <>{String(value)}</>;
  if ("at" in value) return <Time ms={value.at} />;
  return value.href ? <a href={value.href}>{String(value.text)}</a> : <>{String(value.text)}</>;
}

const isNumber = (v: OverviewCell) => typeof v === "number" || (typeof v === "object" && v !== null && "text" in v && typeof v.text === "number");

export function OverviewCard({ overview }: { overview: Overview }) {
  const { facts = [], table } = overview;
  return (
    <section class="card" id="overview" data-overview="">
      <h2>{overview.title}</h2>
      {facts.length > 0 ? (
        <dl class="facts">
          {facts.map((f) => (
            <div>
              <dt>{f.label}</dt>
              <dd data-fact={f.label}>
                <Cell value={f.value} />
              </dd>
            </div>
          ))}
        </dl>
      ) : null}
      {table ? (
        <div class="scroll" tabindex={0}>
          <table data-overview-table="">
            <caption class="muted">{table.caption}</caption>
            <thead>
              <tr>
                {table.columns.map((c) => (
                  <th scope="col">{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row) => (
                <tr>
                  {row.map((v, i) => (
                    <td class={isNumber(v) ? "num" : undefined} data-column={table.columns[i]}>
                      <Cell value={v} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
