/**
 * SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, as lower-case hex. Every sediment is hashed
 * inside its transaction, where only synchronous code can run; written for that one use: the
 * message is encoded once into a reused buffer, padded in place, and its words are read with
 * shifts. In workerd it takes half the time of @noble/hashes' `sha256(utf8ToBytes(text))`, whose
 * results it must equal byte for byte (the tests compare the two).
 */

/** The WHATWG encoder every runtime the core runs on provides; declared here since the core is compiled without DOM or runtime types. */
declare const TextEncoder: new () => { encodeInto(source: string, destination: Uint8Array): { read: number; written: number } };

/** First 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
/** First 32 bits of the fractional parts of the square roots of the first 8 primes. */
const INITIAL = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const BLOCK_BYTES = 64;
const ROUNDS = 64;
/** The 0x80 byte that ends the message and its length in bits (64-bit big-endian): what padding adds at least. */
const PADDING_BYTES = 1 + 8;
/** 2^32: the length in bits is written as two 32-bit words. */
const WORD = 0x1_0000_0000;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const UTF8_BYTES_PER_UNIT = 3;
/** Messages up to this size are encoded into one reused buffer; longer ones get their own, so it never grows. */
const SCRATCH_BYTES = 16 * 1024;

const encoder = new TextEncoder();
// Reused across calls: hashing is synchronous, so nothing else can use them before a hash is done.
const scratch = new Uint8Array(SCRATCH_BYTES);
const schedule = new Int32Array(ROUNDS);

export function sha256Hex(text: string): string {
  const room = text.length * UTF8_BYTES_PER_UNIT + BLOCK_BYTES + PADDING_BYTES;
  const buffer = room <= SCRATCH_BYTES ? scratch : new Uint8Array(room);
  const { written } = encoder.encodeInto(text, buffer);
  return digestHex(buffer, written);
}

/** Pads `length` message bytes in place (the buffer has room for a block more) and hashes them. */
function digestHex(m: Uint8Array, length: number): string {
  const total = Math.ceil((length + PADDING_BYTES) / BLOCK_BYTES) * BLOCK_BYTES;
  m[length] = 0x80;
  m.fill(0, length + 1, total - 8);
  const high = Math.floor((length * 8) / WORD);
  const low = (length * 8) % WORD;
  for (let i = 0; i < 4; i++) {
    m[total - 8 + i] = high >>> (24 - 8 * i);
    m[total - 4 + i] = low >>> (24 - 8 * i);
  }
  const w = schedule;
  let h0 = INITIAL[0]!, h1 = INITIAL[1]!, h2 = INITIAL[2]!, h3 = INITIAL[3]!, h4 = INITIAL[4]!, h5 = INITIAL[5]!, h6 = INITIAL[6]!, h7 = INITIAL[7]!;
  for (let offset = 0; offset < total; offset += BLOCK_BYTES) {
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      w[i] = (m[j]! << 24) | (m[j + 1]! << 16) | (m[j + 2]! << 8) | m[j + 3]!;
    }
    for (let i = 16; i < ROUNDS; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < ROUNDS; i++) {
      const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + sigma1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (sigma0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  return hex(h0) + hex(h1) + hex(h2) + hex(h3) + hex(h4) + hex(h5) + hex(h6) + hex(h7);
}

const hex = (word: number): string => (word >>> 0).toString(16).padStart(8, "0");
