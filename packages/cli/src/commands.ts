import { connectionFor, explain, formatIssues, type Intent, type Lineage, parseClaimed, type Vocabulary } from "@noema/core";
import { createInternalTables, type SqlExecutor } from "@noema/core/runtime";
import { CliError } from "./errors.js";

/** Each command returns what it prints: plain text, or JSON with --json. */
export type Output = string;

const json = (value: unknown): Output => JSON.stringify(value, null, 2);

function versionOf(law: Lineage, version: number | undefined): Vocabulary {
  if (version === undefined) return law.latest;
  const vocabulary = law.at(version);
  if (!vocabulary) throw new CliError(`${law.name} has no v${version}; the law declares v${law.first} to v${law.latest.nomos.version}`);
  return vocabulary;
}

/** The law's CREATE statements (latest version unless --version), and Noema's own tables with --internal. */
export function ddl(law: Lineage, options: { version?: number; internal?: boolean; json?: boolean }): Output {
  const statements = [...versionOf(law, options.version).nomos.ddl];
  if (options.internal) {
    // Record what the Attractor runs on its first wake instead of running it.
    const recorder: SqlExecutor = { exec: (sql) => (statements.push(sql), []) };
    createInternalTables(recorder);
  }
  return options.json ? json(statements) : statements.map((s) => `${s};`).join("\n");
}

/** Version and hash of every version the law declares. */
export function hash(law: Lineage, options: { json?: boolean }): Output {
  const rows = law.versions.map((v) => ({ name: v.nomos.name, version: v.nomos.version, hash: v.nomos.hash }));
  return options.json ? json(rows) : rows.map((r) => `${r.name} v${r.version} ${r.hash}`).join("\n");
}


/** Parses an Intent (as the Attractor would) and prints the SQL it would run, its parameters and its Sieve. */
export function explainIntent(law: Lineage, input: unknown, options: { now?: number; sedimentId?: number; json?: boolean }): Output {
  const parsed = parseClaimed(law, input);
  if (!parsed.ok) throw new CliError(`invalid Intent: ${formatIssues(parsed.issues)}`);
  const intent: Intent = parsed.value;
  // An Intent that claims no law is parsed under the latest one, as an Attractor does.
  const stamp = intent.nomos ?? law.latest.nomos;
  const vocabulary = versionOf(law, stamp.version);
  const explanation = explain(vocabulary, intent, { now: options.now ?? Date.now(), sedimentId: options.sedimentId ?? 1 });
  if (options.json) return json(explanation);
  const lines = [`Intent under ${stamp.name} v${stamp.version} (${stamp.hash})`];
  explanation.steps.forEach((step, i) => {
    lines.push(`step ${i}: ${step.op}`);
    for (const s of step.statements) lines.push(`  ${s.sql.replace(/\s+/g, " ").trim()}`, `    params ${JSON.stringify(s.params)}`);
  });
  if (explanation.invariants.length > 0) lines.push("invariants:", ...explanation.invariants.map((inv) => `  ${inv.name}`));
  lines.push("sieve:", ...Object.entries(explanation.sieve).map(([key, h]) => `  ${key} ${h}`));
  return lines.join("\n");
}

/** The classified diff between two versions, step by step, relative to an Intent's Sieve when one is given. */
export function connectionReport(law: Lineage, options: { from: number; to: number; intent?: unknown; json?: boolean }): Output {
  const { from, to } = options;
  versionOf(law, from);
  versionOf(law, to);
  if (from >= to) throw new CliError(`--from (${from}) must be below --to (${to})`);
  // The same admission as the HTTP route: an Intent without a stamp is read as one of --from.
  const result = connectionFor(law, { from, to, ...(options.intent === undefined ? {} : { intent: options.intent }) });
  if (!result.ok) throw new CliError(`invalid Intent: ${formatIssues(result.issues)}`);
  const { steps } = result.report;
  const underIntent = options.intent !== undefined;
  if (options.json) return json(steps);
  const lines: string[] = [];
  for (const c of steps) {
    lines.push(`${c.from.name} v${c.from.version} → v${c.to.version}: ${c.type}${underIntent ? " for this Intent" : ""}`);
    for (const change of c.changes) {
      lines.push(`  ${change.relevant ? "*" : " "} ${change.effect.padEnd(8)} ${change.kind} ${change.element}: ${change.detail}`);
    }
  }
  return lines.join("\n");
}
