import type { Explanation, Seal } from "@noema/core";
import { type Frame, Page } from "./pages.js";
import { json } from "./parts.js";

/** The part of an argument's JSON Schema a form field needs; anything else becomes a text field. */
export interface FieldSchema {
  type?: string | string[];
  enum?: unknown[];
  description?: string;
  default?: unknown;
  anyOf?: FieldSchema[];
}

/** An operation's arguments as JSON Schema (`GET /api/nomos` shows the same). */
export interface ArgsSchema {
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

export type FieldKind = { kind: "number"; integer: boolean } | { kind: "boolean" } | { kind: "choice"; options: string[] } | { kind: "text" };

/** How a field is entered: a nullable or optional type reads as its non-null branch. */
export function fieldKind(schema: FieldSchema): FieldKind {
  const branch = schema.anyOf?.find((s) => s.type !== "null") ?? schema;
  if (branch.enum) return { kind: "choice", options: branch.enum.map(String) };
  const type = Array.isArray(branch.type) ? branch.type.find((t) => t !== "null") : branch.type;
  if (type === "integer" || type === "number") return { kind: "number", integer: type === "integer" };
  if (type === "boolean") return { kind: "boolean" };
  return { kind: "text" };
}

export type Outcome = { explained: Explanation } | { sealed: Seal } | { error: string };

export interface ComposeView {
  name: string;
  operations: { name: string; description: string }[];
  op: string;
  args: ArgsSchema;
  values: Record<string, string>;
  idempotencyKey: string;
  outcome?: Outcome;
}


export function Compose({ frame, view }: { frame: Frame; view: ComposeView }) {
  const here = `${frame.base}/worlds/${encodeURIComponent(view.name)}/compose`;
  const required = new Set(view.args.required ?? []);
  return (
    <Page frame={frame}>
      <h1>
        Compose for <a href={`${frame.base}/worlds/${encodeURIComponent(view.name)}`}>{view.name}</a>
      </h1>
      <section class="card">
        <form class="inline" method="get" action={here}>
          <label>
            Operation
            <select name="op">
              {view.operations.map((o) => (
                <option value={o.name} selected={o.name === view.op}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Choose</button>
        </form>
        <p class="muted">{view.operations.find((o) => o.name === view.op)?.description}</p>
        <form method="post" action={`${here}?op=${encodeURIComponent(view.op)}`} class="compose">
          {Object.entries(view.args.properties ?? {}).map(([field, schema]) => (
            <Field field={field} schema={schema} value={view.values[field] ?? ""} required={required.has(field)} />
          ))}
          <label>
            Idempotency key (optional)
            <input name="$idempotencyKey" value={view.idempotencyKey} maxlength={256} />
          </label>
          <div class="inline">
            <button type="submit" name="$action" value="explain">
              Explain
            </button>
            {frame.scope === "write" ? (
              <button type="submit" name="$action" value="sediment">
                Sediment
              </button>
            ) : (
              <span class="muted">A read-only token can explain but not sediment.</span>
            )}
          </div>
        </form>
      </section>
      {view.outcome ? <Result outcome={view.outcome} /> : null}
    </Page>
  );
}

function Field({ field, schema, value, required }: { field: string; schema: FieldSchema; value: string; required: boolean }) {
  const kind = fieldKind(schema);
  const label = `${field}${required ? "" : " (optional)"}`;
  if (kind.kind === "choice") {
    return (
      <label>
        {label}
        <select name={field}>
          {required ? null : <option value="">—</option>}
          {kind.options.map((o) => (
            <option value={o} selected={o === value}>
              {o}
            </option>
          ))}
        </select>
      </label>
    );
  }
  if (kind.kind === "boolean") {
    return (
      <label>
        {label}
        <input type="checkbox" name={field} value="true" checked={value === "true"} />
      </label>
    );
  }
  return (
    <label>
      {label}
      <input name={field} value={value} required={required} {...(kind.kind === "number" ? { inputmode: kind.integer ? "numeric" : "decimal" } : {})} />
    </label>
  );
}

function Result({ outcome }: { outcome: Outcome }) {
  if ("error" in outcome) {
    return (
      <section class="card" id="result">
        <h2>Refused</h2>
        <p class="error" role="alert">
          {outcome.error}
        </p>
      </section>
    );
  }
  if ("sealed" in outcome) {
    return (
      <section class="card" id="result">
        <h2>Sealed</h2>
        <pre tabindex={0}>{json(outcome.sealed)}</pre>
      </section>
    );
  }
  const e = outcome.explained;
  return (
    <section class="card" id="result">
      <h2>Explained: nothing ran</h2>
      {e.steps.map((step, i) => (
        <>
          <h3>
            Step {i}: {step.op}
          </h3>
          {step.statements.map((s) => (
            <pre data-sql tabindex={0}>{`${s.sql}\n-- params: ${JSON.stringify(s.params)}`}</pre>
          ))}
        </>
      ))}
      <h3>Invariants checked before commit</h3>
      {e.invariants.map((inv) => (
        <pre tabindex={0}>{`-- ${inv.name}\n${inv.sql}`}</pre>
      ))}
      <h3>Sieve</h3>
      <pre tabindex={0}>{json(e.sieve)}</pre>
    </section>
  );
}
