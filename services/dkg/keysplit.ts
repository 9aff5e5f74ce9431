/**
 * Trusted-dealer key splitting, to migrate an existing validator into a distributed validator
 * (as SSV's key splitting does), and its inverse, combining shares back into the whole key for an
 * emergency exit (Charon's `combine`). A DKG never forms the whole key; these two do, on purpose,
 * on the machine that runs them.
 *
 * A shares folder holds `share-<id>.json` EIP-2335 keystores and `public-shares.json`: the
 * validator's public key, the threshold and every share's public key by id. The public shares are
 * what ties a keystore to its share id, and what lets `combine` refuse shares of another key.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import {
  type KdfParams,
  type Keystore,
  decryptKeystore,
  encryptKeystore,
  fromBytesBE,
  parsePublicKey,
  publicShare,
  readKeystoreFile,
  recoverSecret,
  secretKeyFromScalar,
  splitSecret,
  toBytes32,
  validateThreshold,
  writeKeystoreFile,
} from "../core/crypto/index.js";
import { NektarError } from "../core/errors.js";
import { fromHex, toHex } from "../core/hex.js";
import { publishDirectory, writeFileAtomic } from "../core/store/files.js";

export const PUBLIC_SHARES_FILE = "public-shares.json";

const HexPublicKey = Type.String({ pattern: "^0x[0-9a-f]{96}$" });

export const PublicSharesSchema = Type.Object(
  {
    validator_pubkey: HexPublicKey,
    threshold: Type.Integer({ minimum: 1 }),
    public_shares: Type.Array(Type.Object({ id: Type.Integer({ minimum: 1 }), pubkey: HexPublicKey }), { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type PublicShares = Static<typeof PublicSharesSchema>;

export function shareFileName(id: number): string {
  return `share-${id}.json`;
}

export interface SplitOptions {
  shares: number;
  threshold: number;
  /** Password of the share keystores. */
  password: string;
  /** KDF of the share keystores; the EIP-2335 scrypt default when absent. */
  kdf?: KdfParams;
}

/**
 * Splits the secret key `secret` into `shares` keystores, any `threshold` of which sign for it,
 * written to the new folder `outDir` all at once (nothing is left behind on failure).
 */
export async function splitKey(secret: Uint8Array, outDir: string, options: SplitOptions): Promise<PublicShares> {
  validateThreshold(options.shares, options.threshold);
  const validatorPubkey = toHex(secretKeyFromScalar(fromBytesBE(secret)).toPublicKey().toBytes());
  const { shares } = splitSecret(fromBytesBE(secret), options.shares, options.threshold);
  const manifest: PublicShares = {
    validator_pubkey: validatorPubkey,
    threshold: options.threshold,
    public_shares: shares.map((share) => ({ id: share.id, pubkey: toHex(publicShare(share).publicKey.toBytes()) })),
  };
  await publishDirectory(outDir, async (dir) => {
    for (const share of shares) {
      const keystore = await encryptKeystore(toBytes32(share.value), options.password, {
        kdf: options.kdf,
        description: `nektar share ${share.id} of ${options.shares} (threshold ${options.threshold}) of validator ${validatorPubkey}`,
      });
      await writeKeystoreFile(join(dir, shareFileName(share.id)), keystore);
    }
    await writeFileAtomic(join(dir, PUBLIC_SHARES_FILE), JSON.stringify(manifest, null, 2) + "\n");
  });
  return manifest;
}

export async function readPublicShares(dir: string): Promise<PublicShares> {
  const path = join(dir, PUBLIC_SHARES_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new NektarError(`${path}: cannot read the public shares (${(err as Error).message})`);
  }
  const error = Value.Errors(PublicSharesSchema, json).First();
  if (error) throw new NektarError(`${path}: ${error.path || "/"}: ${error.message}`);
  const manifest = json as PublicShares;
  validateThreshold(manifest.public_shares.length, manifest.threshold);
  parsePublicKey(fromHex(manifest.validator_pubkey, `${path}: validator_pubkey`), `${path}: validator_pubkey`);
  return manifest;
}

/** A share keystore found in a shares folder, matched to its share id by its public key. */
export interface ShareKeystore {
  id: number;
  file: string;
  keystore: Keystore;
}

/**
 * The share keystores in `dir` (every `*.json` but the public shares), each matched to its id.
 * Refuses a keystore whose public key is not one of the validator's public shares, and two
 * keystores of the same share.
 */
export async function findShareKeystores(dir: string, manifest: PublicShares): Promise<ShareKeystore[]> {
  const idByPubkey = new Map(manifest.public_shares.map((s) => [s.pubkey.slice(2), s.id]));
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json") && f !== PUBLIC_SHARES_FILE).sort();
  const found: ShareKeystore[] = [];
  for (const name of files) {
    const file = join(dir, name);
    const keystore = await readKeystoreFile(file);
    if (keystore.pubkey === undefined) {
      throw new NektarError(`${file}: the keystore has no pubkey field, so its share id cannot be told`);
    }
    const id = idByPubkey.get(keystore.pubkey.toLowerCase());
    if (id === undefined) {
      throw new NektarError(
        `${file}: its public key 0x${keystore.pubkey} is not a share of validator ${manifest.validator_pubkey}: shares of different keys cannot be combined`,
      );
    }
    const twin = found.find((s) => s.id === id);
    if (twin) throw new NektarError(`${file} and ${twin.file} hold the same share (id ${id})`);
    found.push({ id, file, keystore });
  }
  return found;
}

/**
 * Recovers the validator's secret key from the share keystores in `dir`. `passwordOf` gives each
 * keystore's password. Refuses fewer than the threshold, and checks the result against the
 * validator's public key.
 */
export async function combineShares(
  dir: string,
  passwordOf: (share: ShareKeystore) => Promise<string>,
): Promise<{ secret: Uint8Array; manifest: PublicShares }> {
  const manifest = await readPublicShares(dir);
  const keystores = await findShareKeystores(dir, manifest);
  if (keystores.length < manifest.threshold) {
    throw new NektarError(
      `${dir}: ${keystores.length} share keystore${keystores.length === 1 ? "" : "s"} found, the threshold is ${manifest.threshold}: not enough to recover the key`,
    );
  }
  const chosen = keystores.slice(0, manifest.threshold);
  const shares = [];
  for (const share of chosen) {
    const secret = await decryptKeystore(share.keystore, await passwordOf(share), share.file);
    shares.push({ id: share.id, value: fromBytesBE(secret) });
  }
  const secret = recoverSecret(shares, manifest.threshold);
  const pubkey = toHex(secretKeyFromScalar(secret).toPublicKey().toBytes());
  if (pubkey !== manifest.validator_pubkey) {
    throw new NektarError(`${dir}: the shares recover ${pubkey}, not the validator key ${manifest.validator_pubkey}`);
  }
  return { secret: toBytes32(secret), manifest };
}
