/**
 * The interop validators: the deterministic keys every consensus client's dev mode starts its
 * genesis with (`lodestar dev --genesisValidators n`, Kurtosis and others): validator i's secret
 * is int.from_bytes(sha256(i.to_bytes(32, "little")), "little") mod r (ethereum/eth2.0-pm,
 * interop/mocked_start/keygen.py). Public to everyone: dev chains only. The devnet splits them
 * among its operators so its distributed validators are active on such a chain from genesis.
 */
import { createHash } from "node:crypto";
import { mod } from "../../core/crypto/fr.js";
import { NektarError } from "../../core/errors.js";

export function interopSecret(index: number): bigint {
  const le = Buffer.alloc(32);
  le.writeUIntLE(index, 0, 6);
  const digest = createHash("sha256").update(le).digest();
  return mod(BigInt(`0x${Buffer.from(digest).reverse().toString("hex")}`));
}

/** "6..9" (inclusive, as Lodestar writes ranges) or "6": the indices; the error names the option. */
export function parseIndexRange(value: string, what: string): number[] {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(value);
  const first = Number(match?.[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!match || last < first || last - first >= 64) {
    throw new NektarError(`${what} ${value}: expected an index or a range first..last of at most 64 validators, e.g. 6..7`);
  }
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}
