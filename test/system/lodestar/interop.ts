/**
 * The interop validator keys every consensus client's dev mode uses (Lodestar's `dev
 * --genesisValidators n` among them): validator i's secret key is
 *   int.from_bytes(sha256(i.to_bytes(32, "little")), "little") % r
 * (ethereum/eth2.0-pm, interop/mocked_start/keygen.py). Test keys, public to all: never for value.
 */
import { createHash } from "node:crypto";
import { secretKeyFromScalar, type SecretKey } from "../../../services/core/crypto/bls.js";
import { mod } from "../../../services/core/crypto/fr.js";

export function interopSecretScalar(index: number): bigint {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`interop key index must be a non-negative integer, got ${index}`);
  const le = Buffer.alloc(32);
  le.writeUIntLE(index, 0, 6);
  const digest = createHash("sha256").update(le).digest();
  return mod(BigInt(`0x${Buffer.from(digest).reverse().toString("hex")}`));
}

export function interopSecretKey(index: number): SecretKey {
  return secretKeyFromScalar(interopSecretScalar(index));
}
