import { canonicalJson, type Json } from "../canonical/index.js";
import type { CheckReport, CheckResult, Counterexample, RowChange } from "./types.js";

const STATUS = { ok: "ok     ", failed: "FAILED ", info: "info   " } as const;

/** A changed row as a reader wants it: a frozen Intent by its key, wake time and steps, not its hashes. */
function rowText(c: RowChange): string {
  if (c.table !== "_noema_cryostasis") return canonicalJson(c.row);
  const intent = JSON.parse(String(c.row.intent)) as { steps: Json };
  return canonicalJson({ cryo_id: c.row.cryo_id ?? null, key: c.row.freeze_key ?? null, wake_at: c.row.wake_at ?? null, steps: intent.steps });
}

export function formatCounterexample(cx: Counterexample, indent = "    "): string[] {
  const lines = [`${indent}counterexample, ${cx.steps.length} step${cx.steps.length === 1 ? "" : "s"} from the empty state:`];
  cx.steps.forEach((s, i) => {
    lines.push(`${indent}${i + 1}. ${s.action}  @ ${new Date(s.now).toISOString()}`);
    if (s.intent) lines.push(`${indent}   ${JSON.stringify(s.intent)}`);
    lines.push(`${indent}   → ${s.outcome}`);
    for (const c of s.changes) lines.push(`${indent}   ${c.change} ${c.table === "_noema_cryostasis" ? "frozen" : c.table} ${rowText(c)}`);
  });
  lines.push(`${indent}fails: ${cx.failure}`);
  return lines;
}

function resultLines(r: CheckResult): string[] {
  const lines = [`  ${STATUS[r.status]}${r.name.padEnd(40)} ${r.detail}`];
  if (r.counterexample) lines.push(...formatCounterexample(r.counterexample));
  return lines;
}

/** The report as the CLI prints it: per version its exploration, then one line per check. */
export function formatReport(report: CheckReport, law: string): string {
  const lines = [`noema check ${law}: depth ${report.depth}`];
  for (const stats of report.versions) {
    const partial = stats.complete ? "" : " (stopped at the state limit)";
    lines.push(`v${stats.version}: ${stats.states} states, ${stats.transitions} transitions, depth ${stats.depth} reached, ${(stats.ms / 1000).toFixed(2)} s${partial}`);
    for (const r of report.results.filter((x) => x.version === stats.version)) lines.push(...resultLines(r));
  }
  const failed = report.results.filter((r) => r.status === "failed").length;
  lines.push(failed ? `${failed} check${failed === 1 ? "" : "s"} failed` : `every check holds (${(report.ms / 1000).toFixed(2)} s)`);
  return lines.join("\n");
}
