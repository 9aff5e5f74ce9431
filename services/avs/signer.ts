/**
 * The operator's BLS key as the worker uses it: sign a task's response digest. Loaded from an
 * EIP-2335 keystore, the format every Ethereum key tool reads and writes.
 */
import type { PublicKey, Signature } from "@chainsafe/blst";

import { parseSecretKey } from "../core/crypto/bls.js";
import type { SecretKey } from "../core/crypto/bls.js";
import { decryptKeystore, readKeystoreFile, readPasswordFile } from "../core/crypto/keystore.js";

export interface ResponseSigner {
  readonly publicKey: PublicKey;
  sign(digest: Uint8Array): Signature;
}

export function secretKeySigner(secretKey: SecretKey): ResponseSigner {
  return { publicKey: secretKey.toPublicKey(), sign: (digest) => secretKey.sign(digest) };
}

/** The signer of the key in `keystoreFile`, decrypted with the password in `passwordFile`. */
export async function keystoreSigner(keystoreFile: string, passwordFile: string): Promise<ResponseSigner> {
  const keystore = await readKeystoreFile(keystoreFile);
  const secret = await decryptKeystore(keystore, await readPasswordFile(passwordFile), `keystore ${keystoreFile}`);
  return secretKeySigner(parseSecretKey(secret, `keystore ${keystoreFile}`));
}
