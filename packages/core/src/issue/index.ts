import { type $ZodError, config } from "zod/v4/core";
import en from "zod/v4/locales/en.js";

// In a browser and in workerd Noema's own schemas use the tree-shakable `zod/mini` (`#zod` in package.json), which
// registers no messages (classic `zod` registers English when it builds its first schema); Issues
// carry Zod's message, so English it is, unless the app has chosen a locale. Here because every
// parse reports through this module.
if (!config().localeError) config(en());

/** A path into the input: object keys and array indexes, as Zod reports them. */
export type IssuePath = (string | number)[];

/**
 * One thing wrong with an input, shaped like a Zod issue. `code` is Zod's own code when
 * the issue comes from Zod (`invalid_type`, `too_big`, `unrecognized_keys`, …), or one of
 * Noema's: `unknown_operation`, `invalid_ref`, `not_json`, `not_allowed`, `nomos`.
 */
export interface Issue {
  code: string;
  path: IssuePath;
  message: string;
}

/** The answer of a safe parse: the value, or the Issues that say what is wrong. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: Issue[] };

export function issue(code: string, path: readonly PropertyKey[], message: string): Issue {
  return { code, path: toPath(path), message };
}

const toPath = (path: readonly PropertyKey[]): IssuePath => path.map((k) => (typeof k === "number" ? k : String(k)));

/** A path as one dotted string: `steps.0.args.amount`; the whole input is `""`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/** Issues as one line: `path: message` each (the path left out for the whole input), joined by `; `. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => (i.path.length ? `${formatPath(i.path)}: ${i.message}` : i.message)).join("; ");
}

/** The same issues with `prefix` in front of each path: an input nested in a larger one. */
export function prefixIssues(issues: readonly Issue[], prefix: readonly PropertyKey[]): Issue[] {
  const head = toPath(prefix);
  return issues.map((i) => ({ ...i, path: [...head, ...i.path] }));
}

/** Zod issues as Noema reports them: a path each under `prefix`, and one issue per unknown field. */
export function zodIssues(error: $ZodError, prefix: readonly PropertyKey[] = []): Issue[] {
  return error.issues.flatMap((i) =>
    // One issue per unknown key, at the key's own path, so a client sees exactly which field to drop.
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => issue(i.code, [...prefix, ...i.path, key], `unknown field "${key}"`))
      : [issue(i.code, [...prefix, ...i.path], i.message)],
  );
}
