import { type NomosStamp, nomosStamp, type Vocabulary } from "../intent/index.js";
import type { Nomos } from "../nomos/index.js";
import type { Sieve } from "../sieve/index.js";
import { type Change, type ConnectionType, diffNomos, diffVocabulary, type EvolutionHints } from "./diff.js";

export * from "./diff.js";

/** The verified diff between two versions of a law: its type (Flat, Curved, Critical) and the changes. */
export interface Connection {
  type: ConnectionType;
  from: NomosStamp;
  to: NomosStamp;
  /** Every structural change, whether it touches the Sieve or not. */
  changes: (Change & { relevant: boolean })[];
}

const RANK: Record<ConnectionType, number> = { Flat: 0, Curved: 1, Critical: 2 };

/** The more severe of two Connection types: Critical over Curved over Flat. */
export const moreSevere = (a: ConnectionType, b: ConnectionType): ConnectionType => (RANK[b] > RANK[a] ? b : a);
const isVocabulary = (x: Nomos | Vocabulary): x is Vocabulary => "operations" in x;

/**
 * The verified diff between two laws, relative to a Sieve. A change counts when the Sieve
 * holds an element it affects, or always when no Sieve is given; a critical mark counts
 * whatever the Sieve unless it names operations. Flat: every Intent valid under the old law means the same under the
 * new one. Curved: it may not, so it must be reforged. Critical: it must not run.
 */
export function connection(
  from: Nomos | Vocabulary,
  to: Nomos | Vocabulary,
  options: { sieve?: Sieve; hints?: EvolutionHints } = {},
): Connection {
  const fromNomos = isVocabulary(from) ? from.nomos : from;
  const toNomos = isVocabulary(to) ? to.nomos : to;
  const all = [...diffNomos(fromNomos, toNomos, options.hints), ...(isVocabulary(from) && isVocabulary(to) ? diffVocabulary(from, to) : [])];
  const { sieve } = options;
  let type: ConnectionType = "Flat";
  const changes = all.map((c) => {
    const everyIntent = c.effect === "Critical" && c.affects.length === 0;
    const relevant = everyIntent || (c.effect !== "Flat" && (!sieve || c.affects.some((k) => Object.hasOwn(sieve, k))));
    if (relevant) type = moreSevere(type, c.effect);
    return { ...c, relevant };
  });
  return { type, from: nomosStamp(fromNomos), to: nomosStamp(toNomos), changes };
}
