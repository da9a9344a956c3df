// SHA-256 (FIPS 180-4) of a whole byte array, written for a cold isolate: a Worker hashes its law
// while its modules are evaluated, in code V8 has not compiled yet. @noble/hashes' rounds call
// helpers (rotr, Chi, Maj) through a class hierarchy, and its first few hashes cost milliseconds
// until V8 tiers them up; the same rounds written out in one loop cost a tenth of that cold, and as
// much as noble's warm. Its hashes equal noble's and node:crypto's (canonical.test.ts).

/** The round constants: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = Uint32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
  0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);
/** The initial hash value: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0 = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);
const BLOCK = 64;
// The message schedule, the state and the padded last blocks, reused: a hash is synchronous, so one runs at a time.
const W = new Uint32Array(64);
const H = new Uint32Array(8);
const TAIL = new Uint8Array(2 * BLOCK);

/** Runs the compression function over the 64-byte blocks of `bytes` from `start` to `end` into H. */
function blocks(bytes: Uint8Array, start: number, end: number): void {
  for (let at = start; at < end; at += BLOCK) {
    for (let i = 0, j = at; i < 16; i++, j += 4) W[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15]!;
      const y = W[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (s1 + W[i - 7]! + s0 + W[i - 16]!) | 0;
    }
    let a = H[0]!;
    let b = H[1]!;
    let c = H[2]!;
    let d = H[3]!;
    let e = H[4]!;
    let f = H[5]!;
    let g = H[6]!;
    let h = H[7]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    H[0] = H[0]! + a;
    H[1] = H[1]! + b;
    H[2] = H[2]! + c;
    H[3] = H[3]! + d;
    H[4] = H[4]! + e;
    H[5] = H[5]! + f;
    H[6] = H[6]! + g;
    H[7] = H[7]! + h;
  }
}

/** SHA-256 of `bytes`; it does not keep them. */
export function sha256(bytes: Uint8Array): Uint8Array {
  H.set(H0);
  const n = bytes.length;
  const whole = n - (n % BLOCK);
  blocks(bytes, 0, whole);
  // The last partial block, the 0x80 byte and the length in bits (big-endian, 64 bits): one block or two.
  const rest = n - whole;
  const end = rest < BLOCK - 8 ? BLOCK : 2 * BLOCK;
  TAIL.fill(0);
  TAIL.set(bytes.subarray(whole), 0);
  TAIL[rest] = 0x80;
  const high = Math.floor(n / 0x2000_0000);
  const low = (n * 8) >>> 0;
  for (let i = 0; i < 4; i++) {
    TAIL[end - 8 + i] = high >>> (24 - 8 * i);
    TAIL[end - 4 + i] = low >>> (24 - 8 * i);
  }
  blocks(TAIL, 0, end);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const h = H[i]!;
    out[4 * i] = h >>> 24;
    out[4 * i + 1] = h >>> 16;
    out[4 * i + 2] = h >>> 8;
    out[4 * i + 3] = h;
  }
  return out;
}
