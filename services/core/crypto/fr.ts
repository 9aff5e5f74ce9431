/**
 * Arithmetic in Fr, the scalar field of BLS12-381 (the field of secret keys, shares and Lagrange
 * coefficients). Scalars are bigints in [0, r); bytes are 32-byte big-endian, as blst and the
 * Ethereum specs serialize secret keys.
 */
import { randomBytes } from "node:crypto";

/** The order r of the BLS12-381 groups G1 and G2. */
export const FR_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

export function mod(a: bigint): bigint {
  const m = a % FR_ORDER;
  return m < 0n ? m + FR_ORDER : m;
}

export function add(a: bigint, b: bigint): bigint {
  return mod(a + b);
}

export function sub(a: bigint, b: bigint): bigint {
  return mod(a - b);
}

export function mul(a: bigint, b: bigint): bigint {
  return mod(a * b);
}

export function neg(a: bigint): bigint {
  return mod(-a);
}

/** a^e mod r by square-and-multiply. */
export function pow(a: bigint, e: bigint): bigint {
  let result = 1n;
  let base = mod(a);
  for (let x = e; x > 0n; x >>= 1n) {
    if (x & 1n) result = (result * base) % FR_ORDER;
    base = (base * base) % FR_ORDER;
  }
  return result;
}

/** The multiplicative inverse, by the extended Euclidean algorithm (faster than Fermat in JS). */
export function inv(a: bigint): bigint {
  let [oldR, r] = [mod(a), FR_ORDER];
  if (oldR === 0n) throw new RangeError("0 has no inverse in Fr");
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS);
}

/** A uniformly random scalar in [1, r), from the OS CSPRNG. */
export function randomScalar(): bigint {
  for (;;) {
    // 48 bytes reduced mod r: statistical distance from uniform below 2^-128.
    const x = mod(fromBytesBE(randomBytes(48)));
    if (x !== 0n) return x;
  }
}

export function toBytes32(a: bigint): Uint8Array {
  if (a < 0n || a >= 1n << 256n) throw new RangeError("scalar does not fit in 32 bytes");
  const out = new Uint8Array(32);
  let x = a;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function fromBytesBE(bytes: Uint8Array): bigint {
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  return x;
}

/**
 * `count` random nonzero 64-bit integers (0, drawn with probability 2^-64, becomes 1): the weights
 * of a random linear combination that checks many equations at once, so that a batch with a false
 * equation passes with probability about 2^-64.
 */
export function randomWeights(count: number): bigint[] {
  const bytes = randomBytes(8 * count);
  const weights: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const w = bytes.readBigUInt64BE(8 * i);
    weights.push(w === 0n ? 1n : w);
  }
  return weights;
}
