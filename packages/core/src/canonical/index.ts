import { sha256Halves } from "./sha256.js";

/**
 * A JSON value: what may cross the wire or go into storage. The array and object cases are
 * interfaces, not inline `Json[]` / `{ [key: string]: Json }`: Cloudflare's RPC stub types
 * (`Rpc.Serializable`, `Rpc.Stubify`) expand an inline recursive alias until TS2589
 * ("excessively deep"), while a named interface is compared by reference and stays finite.
 */
export type Json = null | boolean | number | string | JsonArray | JsonObject;
/** A JSON array. */
export interface JsonArray extends Array<Json> {}
/** A JSON object. */
export interface JsonObject {
  [key: string]: Json;
}

/**
 * JSON with object keys sorted at every depth, so equal values hash equally
 * whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/**
 * Whether two values have the same canonical JSON, without writing it: equal at every depth,
 * key order aside, keys holding undefined absent. Where JSON would blur a difference (NaN, a
 * toJSON) it may answer false although the texts agree, never true where they differ.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], other[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const key of Object.keys(x)) {
    if (x[key] === undefined) continue;
    defined++;
    if (!Object.hasOwn(y, key) || !sameJson(x[key], y[key])) return false;
  }
  for (const key of Object.keys(y)) if (y[key] !== undefined) defined--;
  return defined === 0;
}

/**
 * Sets an own enumerable key, as JSON.parse or a spread defines it: assigning an own "__proto__"
 * would set the prototype instead, and the key would be lost (from a copy, from canonical JSON).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * The value with its object keys sorted at every depth: the value itself where JSON.stringify
 * would already write it so (most Intents are built or parsed with their keys in order), else a
 * copy. Copying every object was most of the canonical JSON of an Intent with a nested one.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    // An own toJSON (or another prototype's) would be lost by a copy: such arrays are copied, as before.
    if (Object.getPrototypeOf(value) !== Array.prototype || Object.hasOwn(value, "toJSON")) return value.map(sortKeys);
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const s = sortKeys(v);
      if (out) out.push(s);
      else if (s !== v) (out = value.slice(0, i)).push(s);
    }
    return out ?? value;
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    const source = value as Record<string, unknown>;
    if (inCanonicalOrder(value, keys)) {
      for (let i = 0; i < keys.length; i++) {
        const v = source[keys[i]!];
        const s = sortKeys(v);
        if (s === v) continue;
        // A value changed: a copy from here on, the keys already in order.
        const out: Record<string, unknown> = {};
        for (let j = 0; j < i; j++) if (source[keys[j]!] !== undefined) setOwn(out, keys[j]!, source[keys[j]!]);
        setOwn(out, keys[i]!, s);
        for (let j = i + 1; j < keys.length; j++) {
          const w = source[keys[j]!];
          if (w !== undefined) setOwn(out, keys[j]!, sortKeys(w));
        }
        return out;
      }
      return value;
    }
    const out: Record<string, unknown> = {};
    for (const key of sortedInPlace(keys)) {
      const v = source[key];
      if (v !== undefined) setOwn(out, key, sortKeys(v));
    }
    return out;
  }
  return value;
}

/**
 * Whether JSON.stringify writes this object's keys as a sorted copy would: a plain object (another
 * prototype may bring a toJSON, which the copy drops) whose keys come in strictly ascending order.
 * Keys that are array indices come first in both, in numeric order; keys holding undefined need
 * no check, as JSON leaves them out like the copy does.
 */
function inCanonicalOrder(value: object, keys: readonly string[]): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return false;
  return true;
}

/** Up to this many keys are sorted by insertion; more by the built-in sort, which scales. */
const INSERTION_SORT_MAX = 16;

/**
 * The keys in the order `Array.prototype.sort` gives them (UTF-16 code units), sorted where
 * they lie: most objects have a few keys, and the built-in sort allocates a work array per
 * call, which on the sedimentation path was a quarter of everything allocated.
 */
function sortedInPlace(keys: string[]): string[] {
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  return keys;
}

/** The WHATWG encoder, which every runtime the core runs on has. Declared here because the core is compiled without DOM or runtime types. */
declare const TextEncoder: new () => { encode(source: string): Uint8Array; encodeInto(source: string, destination: Uint8Array): { read: number; written: number } };

/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const UTF8_BYTES_PER_UNIT = 3;
/** Texts up to this many bytes are encoded into one reused buffer; longer ones get their own, so it never grows large. */
const SCRATCH_BYTES = 16 * 1024;
// One encoder and one buffer for every hash: a TextEncoder made and its output copied per call
// was a quarter of the time it takes to hash a sediment. Hashes are synchronous, so nothing else
// can use the buffer before one is done.
const encoder = new TextEncoder();
const scratch = new Uint8Array(SCRATCH_BYTES);

/** Bytes of a text's UTF-8, as TextEncoder writes it, counted without keeping them. */
export function utf8Length(text: string): number {
  return text.length * UTF8_BYTES_PER_UNIT > SCRATCH_BYTES ? encoder.encode(text).length : encoder.encodeInto(text, scratch).written;
}

/**
 * True when a text's UTF-8 is at most `max` bytes. A UTF-16 unit is 1 to UTF8_BYTES_PER_UNIT
 * bytes, so the bytes are counted only when the text's length leaves doubt.
 */
export function utf8Within(text: string, max: number): boolean {
  return text.length * UTF8_BYTES_PER_UNIT <= max || (text.length <= max && utf8Length(text) <= max);
}

/** Uint8Array's own hex, where the runtime has it (workerd does). */
const nativeHex = (Uint8Array.prototype as { toHex?: (this: Uint8Array) => string }).toHex;
/** Hex of each byte value, made the first time a runtime without `toHex` needs it. */
let hexes: string[] | undefined;

/** Lower-case hex of a digest. */
function bytesToHex(bytes: Uint8Array): string {
  if (nativeHex) return nativeHex.call(bytes);
  const table = (hexes ??= Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0")));
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += table[bytes[i]!];
  return hex;
}

/**
 * A text hash made of a synchronous bytes hash: the text's UTF-8 goes into the one reused
 * buffer, the digest comes back in lower-case hex. `digest` must not keep the bytes.
 */
export function textHash(digest: (bytes: Uint8Array) => Uint8Array): Sha256Hex {
  const hash: Sha256Hex = (text) => {
    if (text.length * UTF8_BYTES_PER_UNIT > SCRATCH_BYTES) return bytesToHex(digest(encoder.encode(text)));
    const { written } = encoder.encodeInto(text, scratch);
    return bytesToHex(digest(scratch.subarray(0, written)));
  };
  digests.set(hash, digest);
  return hash;
}

/** The bytes hash of each text hash textHash made: what `joinedHash` writes its pieces for. */
const digests = new WeakMap<Sha256Hex, (bytes: Uint8Array) => Uint8Array>();

/** Bytes written into `scratch` so far by `joinedHash`'s pieces, or -1 once they did not fit. */
let written = -1;

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Writes a text's UTF-8 into `scratch` at `written`, as TextEncoder would (a lone surrogate as U+FFFD). */
function writeUtf8(text: string): void {
  if (written < 0 || written + text.length * UTF8_BYTES_PER_UNIT > SCRATCH_BYTES) {
    written = -1;
    return;
  }
  let at = written;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) scratch[at++] = c;
    else if (c < 0x800) {
      scratch[at++] = 0xc0 | (c >> 6);
      scratch[at++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (isHighSurrogate(c) && isLowSurrogate(low)) {
          const point = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          scratch[at++] = 0xf0 | (point >> 18);
          scratch[at++] = 0x80 | ((point >> 12) & 0x3f);
          scratch[at++] = 0x80 | ((point >> 6) & 0x3f);
          scratch[at++] = 0x80 | (point & 0x3f);
          i++;
          continue;
        }
        c = 0xfffd;
      }
      scratch[at++] = 0xe0 | (c >> 12);
      scratch[at++] = 0x80 | ((c >> 6) & 0x3f);
      scratch[at++] = 0x80 | (c & 0x3f);
    }
  }
  written = at;
}

/** Whether the text before piece `i` (the pieces before it, empty ones skipped) ends with a high surrogate. */
function endsHigh(pieces: readonly string[], i: number): boolean {
  for (let j = i - 1; j >= 0; j--) {
    const p = pieces[j]!;
    if (p.length > 0) return isHighSurrogate(p.charCodeAt(p.length - 1));
  }
  return false;
}

/**
 * `sha256Hex` of the pieces' concatenation, written piece by piece into the reused buffer: the
 * joined text is never made (on the sealing path, a string of every log row's size, and its
 * flattening for the encoder). Falls back to joining where the hash port takes text only (a
 * host's own hash), or the pieces do not fit the buffer.
 */
export function joinedHash(pieces: readonly string[]): string {
  const digest = digests.get(sha256Impl);
  if (digest) {
    written = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      // A surrogate pair split between two pieces is one character of the joined text: joined then.
      if (i > 0 && isLowSurrogate(piece.charCodeAt(0)) && endsHigh(pieces, i)) written = -1;
      writeUtf8(piece);
    }
    if (written >= 0) {
      const bytes = scratch.subarray(0, written);
      written = -1;
      return bytesToHex(digest(bytes));
    }
  }
  return sha256Impl(pieces.join(""));
}

/** The built-in SHA-256 (pure JS, see sha256Halves): what a host's own must agree with, and the fallback where it has none. */
const builtinSha256Hex: Sha256Hex = textHash(sha256Halves);

/**
 * The hash port: SHA-256 of a text's UTF-8 bytes, in lower-case hex, computed synchronously
 * (it runs inside transactions). A host installs a native one where its runtime has one
 * (Workers: node:crypto); the pure-JS built-in one serves everywhere else.
 */
export type Sha256Hex = (text: string) => string;

let sha256Impl: Sha256Hex = builtinSha256Hex;

/** Installs a host's SHA-256 (it must give the same hashes as `builtinSha256Hex`); `undefined` restores the built-in one. */
export function useSha256(impl: Sha256Hex | undefined): void {
  sha256Impl = impl ?? builtinSha256Hex;
}

export function sha256Hex(text: string): string {
  return sha256Impl(text);
}

export { builtinSha256Hex };

/** SHA-256 of the canonical JSON of a value. */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * Collapses runs of whitespace in a SQL fragment outside string literals and quoted
 * identifiers, so that reformatting a CHECK or an invariant does not change its hash. A `--`
 * comment is dropped with the rest of its line, as SQLite reads it: kept, it would swallow
 * everything after it once the line breaks are collapsed.
 */
export function normalizeSql(sql: string): string {
  let out = "";
  let quote: string | null = null;
  let pendingSpace = false;
  const text = sql.trim();
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      out += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "-" && text[i + 1] === "-") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
      pendingSpace = true;
      continue;
    }
    if (/\s/.test(ch)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace && out.length > 0) out += " ";
    pendingSpace = false;
    out += ch;
    if (ch === "'" || ch === '"') quote = ch;
  }
  return out;
}
