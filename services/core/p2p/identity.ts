/**
 * An operator's identity: a secp256k1 key, from which its libp2p peer id derives. secp256k1 as
 * in Charon and in Ethereum's ENRs (EIP-778 "v4"): the same key file can be shown as an ENR and
 * imported from a Charon node (`charon-enr-private-key` is the same 32 bytes as hex). The key
 * authenticates the node in every noise handshake and signs the cluster definition.
 *
 * File format: the 32-byte secret as hex and a newline, mode 0600.
 */
import { readFile } from "node:fs/promises";
import type { PeerId, Secp256k1PrivateKey } from "@libp2p/interface";
import { privateKeyFromRaw } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { NektarError } from "../errors.js";
import { fromHex, toHex } from "../hex.js";
import { writeFileAtomic } from "../store/files.js";

export interface Identity {
  readonly privateKey: Secp256k1PrivateKey;
  readonly peerId: PeerId;
}

/** A fresh identity from the system's CSPRNG. */
export function generateIdentity(): Identity {
  return identityFromSecret(secp256k1.utils.randomSecretKey(), "generated key");
}

/** The identity of a 32-byte secp256k1 secret; `what` names it in errors. */
export function identityFromSecret(secret: Uint8Array, what: string): Identity {
  if (secret.length !== 32 || !secp256k1.utils.isValidSecretKey(secret)) {
    throw new NektarError(`${what}: not a secp256k1 secret key (32 bytes, 0 < k < n)`);
  }
  const privateKey = privateKeyFromRaw(secret) as Secp256k1PrivateKey;
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey) };
}

/** Generates an identity and writes its key file; refuses to replace an existing file. */
export async function createIdentityFile(path: string): Promise<Identity> {
  const identity = generateIdentity();
  await writeFileAtomic(path, toHex(identity.privateKey.raw) + "\n", { mode: 0o600, overwrite: false, what: `identity key file ${path}` });
  return identity;
}

export async function readIdentityFile(path: string): Promise<Identity> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new NektarError(`cannot read identity key file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const what = `identity key file ${path}`;
  // Checked here rather than by fromHex, whose error would quote the start of the secret.
  const hex = text.trim();
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(hex)) throw new NektarError(`${what}: expected 32 bytes of hex (64 hex digits)`);
  return identityFromSecret(fromHex(hex, what, 32), what);
}
