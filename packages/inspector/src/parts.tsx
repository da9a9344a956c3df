import type { Intent } from "@noema/core";

// Small pieces every page uses. Everything shown is escaped like any text (Hono JSX).

/** JSON as the inspector shows it, indented. */
export const json = (value: unknown) => JSON.stringify(value, null, 2);

/** A UTC time the client script turns into the reader's own zone. */
export const Time = ({ ms }: { ms: number }) => (
  <time datetime={new Date(ms).toISOString()} data-ms={String(ms)}>
    {new Date(ms).toISOString().replace("T", " ").slice(0, 19)} UTC
  </time>
);

/** An Intent folded to its operations, opening to its JSON. */
export const IntentDetails = ({ intent }: { intent: Intent }) => (
  <details>
    <summary>{intent.steps.map((s) => s.op).join(", ")}</summary>
    <pre tabindex={0}>{json(intent)}</pre>
  </details>
);

/** A page's links to the pages around it: each `[label, href]`, shown when it has an href. */
export const Pager = ({ links }: { links: readonly (readonly [string, string | undefined])[] }) => (
  <nav class="pager">{links.map(([label, href]) => (href === undefined ? null : <a href={href}>{label}</a>))}</nav>
);
