import type { Sediment, SqlValue } from "@noema/core";
import type { RowsPage, TableInfo } from "@noema/cloudflare";
import { Pager } from "./parts.js";

/**
 * A chart an app adds to every World page, drawn from a bounded sample of the log (see
 * `Attractor.sampleSediments`): for each sediment, the values it records per series.
 */
export interface ChartSpec {
  /** The heading, for example "Stock per location". */
  title: string;
  /** The lines of each series, in legend order (at most 4 are told apart by colour). */
  lines: readonly string[];
  /**
   * What one sediment says: for each series it touches (for example a location), a value per
   * line. `before` gives a series' values just before this sediment, when the sample has no gap
   * since they were recorded: for an output that says only what changed (a reservation's quantity).
   * `values: null` says the sediment changed the series by an amount it does not record: no point,
   * and `before` knows nothing of the series until a sediment records all its values again.
   */
  points(sediment: Sediment, before: (series: string) => Readonly<Record<string, number>> | undefined): { series: string; values: Record<string, number> | null }[];
}

export interface StateView {
  tables: TableInfo[];
  rows?: RowsPage;
  /** Where the shown page started, for the link back to the first rows. */
  rowsAfter: number;
  error?: string;
}

const cell = (v: SqlValue) => (v === null ? "NULL" : typeof v === "object" ? `<${(v as ArrayBuffer).byteLength} bytes>` : String(v));

/** Epoch milliseconds read as a time: from 2000-01-01 up to 2100-01-01 UTC. */
const PLAUSIBLE_MS = [Date.UTC(2000, 0, 1), Date.UTC(2100, 0, 1)] as const;

/**
 * A Nomos declares no time type, so a time column is told by the rule the inspector's guide
 * documents: an INTEGER column whose name ends in `_at` (`updated_at`), holding a whole number
 * of epoch milliseconds between 2000 and 2100. Anything else is shown as stored.
 */
export function timeOf(column: { name: string; type: string }, v: SqlValue): Date | undefined {
  if (column.type !== "INTEGER" || !column.name.endsWith("_at") || typeof v !== "number" || !Number.isInteger(v)) return undefined;
  return v >= PLAUSIBLE_MS[0] && v < PLAUSIBLE_MS[1] ? new Date(v) : undefined;
}

/** `2026-12-05 18:44:01.395 UTC`: ISO 8601 with a space, read at a glance and sorted as text. */
export const utcText = (d: Date) => `${d.toISOString().slice(0, 23).replace("T", " ")} UTC`;

/** One cell: a time column's value as a UTC date-time, its stored number kept in the title. */
function Cell({ name, type, value }: { name: string; type: string | undefined; value: SqlValue }) {
  const time = type === undefined ? undefined : timeOf({ name, type }, value);
  return (
    <td class={value === null ? "muted" : typeof value === "number" && !time ? "num" : undefined} data-column={name}>
      {time ? (
        <time datetime={time.toISOString()} title={String(value)}>
          {utcText(time)}
        </time>
      ) : (
        cell(value)
      )}
    </td>
  );
}

/** Each table of the law held, one at a time, paged by rowid. */
export function State({ here, view }: { here: string; view: StateView }) {
  const { tables, rows } = view;
  const link = (table: string, after?: number) => `${here}?${new URLSearchParams({ table, ...(after ? { rowsAfter: String(after) } : {}) })}#state`;
  const info = tables.find((t) => t.name === rows?.table);
  return (
    <section class="card" id="state">
      <h2>State</h2>
      <nav class="tabs" aria-label="Tables">
        {tables.map((t) => (
          <a href={link(t.name)} aria-current={t.name === rows?.table ? "page" : undefined}>
            {t.name}
          </a>
        ))}
      </nav>
      {view.error ? <p class="error">{view.error}</p> : null}
      {rows && info ? (
        <>
          <div class="scroll" tabindex={0}>
            <table data-table={rows.table}>
              <caption class="muted">
                {rows.table}: {rows.rows.length === 0 ? "no rows" : `${rows.rows.length} row(s)`}
                {view.rowsAfter > 0 ? " (not the first page)" : ""}
              </caption>
              <thead>
                <tr>
                  {info.columns.map((c) => (
                    <th scope="col" title={`${c.type}${c.primaryKey ? ", primary key" : ""}${c.notNull ? ", not null" : ""}`}>
                      {c.name}
                      {c.primaryKey ? (
                        <span class="pk" title="primary key">
                          key
                        </span>
                      ) : null}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.rows.map((r) => (
                  <tr>
                    {r.map((v, i) => (
                      <Cell name={rows.columns[i]!} type={info.columns.find((c) => c.name === rows.columns[i])?.type} value={v} />
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            links={[
              ["First rows", view.rowsAfter > 0 ? link(rows.table) : undefined],
              ["Next rows", rows.next !== undefined ? link(rows.table, rows.next) : undefined],
            ]}
          />
        </>
      ) : null}
    </section>
  );
}

/** One series' values over the sample, at each sediment that recorded them. */
interface Series {
  name: string;
  points: { sedimentId: number; timestamp: number; values: Record<string, number> }[];
}

export function seriesOf(chart: ChartSpec, sample: Sediment[]): Series[] {
  const bySeries = new Map<string, Series>();
  // Series whose last values are exact: every sediment since they were recorded is in the sample.
  const exact = new Set<string>();
  let previous = 0;
  for (const s of sample) {
    if (s.sedimentId !== previous + 1) exact.clear();
    previous = s.sedimentId;
    const before = (name: string) => (exact.has(name) ? bySeries.get(name)?.points.at(-1)?.values : undefined);
    for (const p of chart.points(s, before)) {
      if (p.values === null) {
        exact.delete(p.series);
        continue;
      }
      let series = bySeries.get(p.series);
      if (!series) bySeries.set(p.series, (series = { name: p.series, points: [] }));
      exact.add(p.series);
      // One point per sediment and series: the last one it recorded.
      const last = series.points[series.points.length - 1];
      if (last?.sedimentId === s.sedimentId) last.values = p.values;
      else series.points.push({ sedimentId: s.sedimentId, timestamp: s.timestamp, values: p.values });
    }
  }
  return [...bySeries.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Series drawn at most, so a World with thousands of them still renders fast. */
const MAX_SERIES = 12;
// Narrow enough that the labels stay readable when a phone shrinks it.
const W = 480;
const H = 170;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

/** Server-rendered SVG, one small chart per series with a step line per value: no script, no library. */
export function Chart({ chart, sample, head }: { chart: ChartSpec; sample: Sediment[]; head: number }) {
  const all = seriesOf(chart, sample);
  const series = all.slice(0, MAX_SERIES);
  const sampled = sample.length < head;
  return (
    <section class="card" id="chart">
      <h2>{chart.title}</h2>
      <p class="muted">
        {sampled ? `From ${sample.length} of ${head} sediments: the newest in a row, the older ones sampled evenly` : `Over all ${head} sediment(s)`}; each line
        steps at a sediment that recorded it.{all.length > series.length ? ` The first ${series.length} of ${all.length} series.` : ""}
      </p>
      {series.length === 0 ? <p class="muted">Nothing recorded yet.</p> : null}
      <div class="charts">
        {series.map((s) => (
          <SeriesChart chart={chart} series={s} head={head} />
        ))}
      </div>
    </section>
  );
}

function SeriesChart({ chart, series, head }: { chart: ChartSpec; series: Series; head: number }) {
  const { points } = series;
  const max = Math.max(1, ...points.flatMap((p) => chart.lines.map((l) => p.values[l] ?? 0)));
  const min = Math.min(0, ...points.flatMap((p) => chart.lines.map((l) => p.values[l] ?? 0)));
  const first = Math.min(points[0]!.sedimentId, head);
  const span = Math.max(1, head - first);
  const x = (id: number) => PAD.left + ((id - first) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - min) / (max - min)) * (H - PAD.top - PAD.bottom);
  const last = points[points.length - 1]!;
  // A step line: a value holds until the next sediment that recorded it, and up to the head.
  const path = (line: string) => {
    const d: string[] = [];
    points.forEach((p, i) => {
      const v = y(p.values[line] ?? 0).toFixed(1);
      d.push(i === 0 ? `M${x(p.sedimentId).toFixed(1)},${v}` : `H${x(p.sedimentId).toFixed(1)}V${v}`);
    });
    // A single sediment still draws its values, across the whole width.
    d.push(`H${(head > first ? x(head) : W - PAD.right).toFixed(1)}`);
    return d.join("");
  };
  const summary = chart.lines.map((l) => `${l} ${last.values[l] ?? 0}`).join(", ");
  const id = `chart-${series.name.replace(/[^\w-]/g, "_")}`;
  return (
    <figure class="chart" data-series={series.name}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`} preserveAspectRatio="xMidYMid meet">
        <title id={`${id}-t`}>
          {chart.title}: {series.name}
        </title>
        <desc id={`${id}-d`}>
          At sediment #{last.sedimentId}: {summary}
        </desc>
        <line class="axis" x1={PAD.left} y1={y(min)} x2={W - PAD.right} y2={y(min)} />
        <line class="axis" x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} />
        <text class="tick" x={PAD.left - 6} y={y(max) + 4} text-anchor="end">
          {max}
        </text>
        <text class="tick" x={PAD.left - 6} y={y(min) + 4} text-anchor="end">
          {min}
        </text>
        <text class="tick" x={PAD.left} y={H - 6}>
          #{first}
        </text>
        <text class="tick" x={W - PAD.right} y={H - 6} text-anchor="end">
          #{head}
        </text>
        {chart.lines.map((l, i) => (
          <path class={`line l${i % 4}`} d={path(l)} />
        ))}
      </svg>
      <figcaption>
        <strong>{series.name}</strong>{" "}
        {chart.lines.map((l, i) => (
          <span class={`key l${i % 4}`} data-line={l}>
            {l} <span class="num">{last.values[l] ?? 0}</span>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
