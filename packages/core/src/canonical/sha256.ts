/**
 * The built-in SHA-256, computed on 16-bit halves of each 32-bit word so that every
 * intermediate value is a small integer. A cold isolate runs a hash in V8's interpreter, which
 * stores each intermediate outside the small-integer range as a new heap object: @noble/hashes'
 * SHA-256 of a fresh World and its first sediment allocated about 200 KiB that way, enough to
 * make a Worker's first request pay a young-generation collection the hand-written Worker never
 * does. This one allocates its output and padding only, and keeps @noble/hashes (6 KiB minified)
 * out of a Worker's bundle. Warm it is about 2.5× noble's time, which a host with a native hash
 * does not pay for long (see useSha256).
 */

/** The round constants, then the initial state, as 16-bit halves: high, low. */
const K = new Uint16Array([
  0x428a, 0x2f98, 0x7137, 0x4491, 0xb5c0, 0xfbcf, 0xe9b5, 0xdba5, 0x3956, 0xc25b, 0x59f1, 0x11f1, 0x923f, 0x82a4, 0xab1c, 0x5ed5,
  0xd807, 0xaa98, 0x1283, 0x5b01, 0x2431, 0x85be, 0x550c, 0x7dc3, 0x72be, 0x5d74, 0x80de, 0xb1fe, 0x9bdc, 0x06a7, 0xc19b, 0xf174,
  0xe49b, 0x69c1, 0xefbe, 0x4786, 0x0fc1, 0x9dc6, 0x240c, 0xa1cc, 0x2de9, 0x2c6f, 0x4a74, 0x84aa, 0x5cb0, 0xa9dc, 0x76f9, 0x88da,
  0x983e, 0x5152, 0xa831, 0xc66d, 0xb003, 0x27c8, 0xbf59, 0x7fc7, 0xc6e0, 0x0bf3, 0xd5a7, 0x9147, 0x06ca, 0x6351, 0x1429, 0x2967,
  0x27b7, 0x0a85, 0x2e1b, 0x2138, 0x4d2c, 0x6dfc, 0x5338, 0x0d13, 0x650a, 0x7354, 0x766a, 0x0abb, 0x81c2, 0xc92e, 0x9272, 0x2c85,
  0xa2bf, 0xe8a1, 0xa81a, 0x664b, 0xc24b, 0x8b70, 0xc76c, 0x51a3, 0xd192, 0xe819, 0xd699, 0x0624, 0xf40e, 0x3585, 0x106a, 0xa070,
  0x19a4, 0xc116, 0x1e37, 0x6c08, 0x2748, 0x774c, 0x34b0, 0xbcb5, 0x391c, 0x0cb3, 0x4ed8, 0xaa4a, 0x5b9c, 0xca4f, 0x682e, 0x6ff3,
  0x748f, 0x82ee, 0x78a5, 0x636f, 0x84c8, 0x7814, 0x8cc7, 0x0208, 0x90be, 0xfffa, 0xa450, 0x6ceb, 0xbef9, 0xa3f7, 0xc671, 0x78f2,
  0x6a09, 0xe667, 0xbb67, 0xae85, 0x3c6e, 0xf372, 0xa54f, 0xf53a, 0x510e, 0x527f, 0x9b05, 0x688c, 0x1f83, 0xd9ab, 0x5be0, 0xcd19,
]);
const IV = K.subarray(128);

/** The message schedule, reused: high halves at 2i, low at 2i + 1. */
const W = new Uint16Array(128);
/** The running hash, as halves like W. */
const state = new Uint16Array(16);

/** The built-in SHA-256 of `msg`, bytes to bytes: the same digest as any other SHA-256 (the tests hold it to @noble/hashes'). */
export function sha256Halves(msg: Uint8Array): Uint8Array {
  const length = msg.length;
  const total = ((length + 9 + 63) >> 6) << 6;
  const padded = new Uint8Array(total);
  padded.set(msg);
  padded[length] = 0x80;
  // The length in bits (8 × length), big-endian, in the last 8 bytes; shifts of the length keep it a small integer.
  padded[total - 1] = (length & 31) << 3;
  padded[total - 2] = (length >>> 5) & 255;
  padded[total - 3] = (length >>> 13) & 255;
  padded[total - 4] = (length >>> 21) & 255;
  padded[total - 5] = Math.floor(length / 2 ** 29) & 255;
  state.set(IV);
  for (let at = 0; at < total; at += 64) block(padded, at);
  const out = new Uint8Array(32);
  for (let i = 0; i < 16; i++) {
    out[2 * i] = state[i]! >> 8;
    out[2 * i + 1] = state[i]! & 255;
  }
  return out;
}

/** One 64-byte block into `state`. Rotations of a word (h, l) are written out on its halves. */
function block(bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const p = at + 4 * i;
    W[2 * i] = (bytes[p]! << 8) | bytes[p + 1]!;
    W[2 * i + 1] = (bytes[p + 2]! << 8) | bytes[p + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    let h = W[2 * i - 30]!;
    let l = W[2 * i - 29]!;
    // σ0: rotr 7, rotr 18, shr 3.
    const s0h = ((h >>> 7) | ((l & 127) << 9)) ^ ((l >>> 2) | ((h & 3) << 14)) ^ (h >>> 3);
    const s0l = ((l >>> 7) | ((h & 127) << 9)) ^ ((h >>> 2) | ((l & 3) << 14)) ^ ((l >>> 3) | ((h & 7) << 13));
    h = W[2 * i - 4]!;
    l = W[2 * i - 3]!;
    // σ1: rotr 17, rotr 19, shr 10.
    const s1h = ((l >>> 1) | ((h & 1) << 15)) ^ ((l >>> 3) | ((h & 7) << 13)) ^ (h >>> 10);
    const s1l = ((h >>> 1) | ((l & 1) << 15)) ^ ((h >>> 3) | ((l & 7) << 13)) ^ ((l >>> 10) | ((h & 1023) << 6));
    const lo = s0l + s1l + W[2 * i - 31]! + W[2 * i - 13]!;
    W[2 * i + 1] = lo;
    W[2 * i] = s0h + s1h + W[2 * i - 32]! + W[2 * i - 14]! + (lo >>> 16);
  }
  let ah = state[0]!, al = state[1]!, bh = state[2]!, bl = state[3]!, ch = state[4]!, cl = state[5]!, dh = state[6]!, dl = state[7]!;
  let eh = state[8]!, el = state[9]!, fh = state[10]!, fl = state[11]!, gh = state[12]!, gl = state[13]!, hh = state[14]!, hl = state[15]!;
  for (let i = 0; i < 128; i += 2) {
    // Σ1: rotr 6, rotr 11, rotr 25; Ch.
    const S1h = ((eh >>> 6) | ((el & 63) << 10)) ^ ((eh >>> 11) | ((el & 2047) << 5)) ^ ((el >>> 9) | ((eh & 511) << 7));
    const S1l = ((el >>> 6) | ((eh & 63) << 10)) ^ ((el >>> 11) | ((eh & 2047) << 5)) ^ ((eh >>> 9) | ((el & 511) << 7));
    const t1l = hl + S1l + ((el & fl) ^ ((el ^ 0xffff) & gl)) + K[i + 1]! + W[i + 1]!;
    const t1h = (hh + S1h + ((eh & fh) ^ ((eh ^ 0xffff) & gh)) + K[i]! + W[i]! + (t1l >>> 16)) & 0xffff;
    // Σ0: rotr 2, rotr 13, rotr 22; Maj.
    const S0h = ((ah >>> 2) | ((al & 3) << 14)) ^ ((ah >>> 13) | ((al & 8191) << 3)) ^ ((al >>> 6) | ((ah & 63) << 10));
    const S0l = ((al >>> 2) | ((ah & 3) << 14)) ^ ((al >>> 13) | ((ah & 8191) << 3)) ^ ((ah >>> 6) | ((al & 63) << 10));
    const t2l = S0l + ((al & bl) ^ (al & cl) ^ (bl & cl));
    const t2h = S0h + ((ah & bh) ^ (ah & ch) ^ (bh & ch));
    hh = gh;
    hl = gl;
    gh = fh;
    gl = fl;
    fh = eh;
    fl = el;
    const e = dl + (t1l & 0xffff);
    eh = (dh + t1h + (e >>> 16)) & 0xffff;
    el = e & 0xffff;
    dh = ch;
    dl = cl;
    ch = bh;
    cl = bl;
    bh = ah;
    bl = al;
    const a = (t1l & 0xffff) + t2l;
    ah = (t1h + t2h + (a >>> 16)) & 0xffff;
    al = a & 0xffff;
  }
  add(0, ah, al);
  add(2, bh, bl);
  add(4, ch, cl);
  add(6, dh, dl);
  add(8, eh, el);
  add(10, fh, fl);
  add(12, gh, gl);
  add(14, hh, hl);
}

/** Adds the word (h, l) into `state` at `i`, modulo 2^32. */
function add(i: number, h: number, l: number): void {
  const lo = state[i + 1]! + l;
  state[i + 1] = lo;
  state[i] = state[i]! + h + (lo >>> 16);
}
