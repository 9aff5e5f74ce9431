/**
 * BLS signatures as Ethereum uses them, on @chainsafe/blst: public keys in G1 (48 bytes
 * compressed), signatures in G2 (96 bytes compressed), secret keys 32 bytes big-endian.
 *
 * The ciphersuite is Ethereum's proof-of-possession suite, CIPHERSUITE below: @chainsafe/blst
 * hashes every message to G2 with exactly this domain separation tag (it is fixed in the binding,
 * and bls.test.ts checks it against an independent implementation). Anything signed here is
 * therefore verifiable by any consensus client and by the EIP-2537 precompiles.
 *
 * Bytes from outside (peers, files, users) become keys and points only through the parse
 * functions, which reject anything but a valid compressed encoding of a point in the prime-order
 * subgroup (not the identity): everything downstream, including the arithmetic in msm.ts, relies
 * on that. The one exception, parseSignatureOnCurve, is for partial signatures whose recovered
 * signature is verified with its group check before anything uses it (services/signer/sigagg.ts).
 */
import { PublicKey, SecretKey, Signature, verify } from "@chainsafe/blst";
import { NektarError } from "../errors.js";
import { FR_ORDER, fromBytesBE, toBytes32 } from "./fr.js";

export type { PublicKey, SecretKey, Signature };

/** The IETF BLS ciphersuite Ethereum uses (consensus specs, "BLS signatures"). */
export const CIPHERSUITE = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

export const PUBLIC_KEY_LENGTH = 48;
export const SIGNATURE_LENGTH = 96;
export const SECRET_KEY_LENGTH = 32;

/** A public key or signature that is not a valid point of its group; `input` names it. */
export class InvalidPointError extends NektarError {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`${input}: ${reason}`);
  }
}

/** A secret key (or key share) that is not a scalar in [1, r); `input` names it. */
export class InvalidSecretKeyError extends NektarError {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`${input}: ${reason}`);
  }
}

/** A compressed G1 public key, group-checked; `what` names the input in errors. */
export function parsePublicKey(bytes: Uint8Array, what: string): PublicKey {
  checkLength(bytes, PUBLIC_KEY_LENGTH, "public key", what);
  try {
    return PublicKey.fromBytes(bytes, true);
  } catch (err) {
    throw new InvalidPointError(what, `not a valid BLS public key (${blstReason(err)})`);
  }
}

/** A compressed G2 signature, group-checked and not the identity; `what` names the input. */
export function parseSignature(bytes: Uint8Array, what: string): Signature {
  checkLength(bytes, SIGNATURE_LENGTH, "signature", what);
  try {
    return Signature.fromBytes(bytes, true, true);
  } catch (err) {
    throw new InvalidPointError(what, `not a valid BLS signature (${blstReason(err)})`);
  }
}

/**
 * A compressed G2 point on the curve, NOT group-checked (a third of parseSignature's cost: the
 * subgroup check is most of it). Only for partial signatures recovered into a signature that is
 * then verified with verifyInGroup: a valid result is the one signature of the key whatever the
 * partials were; on failure, check each partial with inSignatureGroup before anything else.
 */
export function parseSignatureOnCurve(bytes: Uint8Array, what: string): Signature {
  checkLength(bytes, SIGNATURE_LENGTH, "signature", what);
  try {
    return Signature.fromBytes(bytes, false);
  } catch (err) {
    throw new InvalidPointError(what, `not a valid BLS signature (${blstReason(err)})`);
  }
}

/** Whether `signature` is in the prime-order subgroup and not the identity. */
export function inSignatureGroup(signature: Signature): boolean {
  try {
    signature.sigValidate(true);
    return true;
  } catch {
    return false;
  }
}

/** verify, with the signature group-checked first (for one from parseSignatureOnCurve, or made from such). */
export function verifyInGroup(message: Uint8Array, publicKey: PublicKey, signature: Signature): boolean {
  return verify(message, publicKey, signature, false, true);
}

/** A 32-byte big-endian secret key in [1, r); `what` names the input in errors. */
export function parseSecretKey(bytes: Uint8Array, what: string): SecretKey {
  if (!(bytes instanceof Uint8Array)) throw new InvalidSecretKeyError(what, "expected the bytes of a secret key");
  if (bytes.length !== SECRET_KEY_LENGTH) {
    throw new InvalidSecretKeyError(what, `expected a ${SECRET_KEY_LENGTH}-byte secret key, got ${bytes.length} bytes`);
  }
  const scalar = fromBytesBE(bytes);
  if (scalar === 0n) throw new InvalidSecretKeyError(what, "secret key is zero");
  if (scalar >= FR_ORDER) throw new InvalidSecretKeyError(what, "secret key is not below the group order r");
  return SecretKey.fromBytes(bytes);
}

/** The blst secret key of a scalar already known to be in [1, r) (a share, a coefficient). */
export function secretKeyFromScalar(scalar: bigint): SecretKey {
  if (scalar <= 0n || scalar >= FR_ORDER) throw new RangeError("secret key scalar must be in [1, r)");
  return SecretKey.fromBytes(toBytes32(scalar));
}

function checkLength(bytes: Uint8Array, length: number, kind: string, what: string): void {
  if (!(bytes instanceof Uint8Array)) throw new InvalidPointError(what, `expected the bytes of a ${kind}`);
  if (bytes.length !== length) {
    throw new InvalidPointError(what, `expected a ${length}-byte compressed ${kind}, got ${bytes.length} bytes`);
  }
}

/** blst's error codes, in words. */
const BLST_REASONS: Record<string, string> = {
  BLST_BAD_ENCODING: "bad encoding",
  BLST_POINT_NOT_ON_CURVE: "not on the curve",
  BLST_POINT_NOT_IN_GROUP: "not in the prime-order subgroup",
  BLST_PK_IS_INFINITY: "the point at infinity",
};

function blstReason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return (typeof code === "string" && BLST_REASONS[code]) || String((err as Error).message ?? err);
}
