/**
 * The key-shares manifest: how an operator's node learns which shares it holds when they are
 * given to it as files rather than as a DKG output folder (on Kubernetes: the operator's
 * key-shares Secret, mounted as a volume and updated in place by the kubelet).
 *
 *     keyshares.json                       this manifest: one entry per share
 *     <keystoreFile>, <passwordFile>       each share's EIP-2335 keystore and its password
 *     cluster-lock-<16 hex>.json           the lock each share was made under (lockFileName)
 *
 * Every file is named relative to the manifest's folder, and stays inside it. The controller
 * writes it (controller/resources/keyshares.ts), the node reads it (services/signer/node).
 */
import { readFile } from "node:fs/promises";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { NektarError } from "../errors.js";
import { MAX_OPERATORS } from "../p2p/definition.js";

export const MANIFEST_FILE = "keyshares.json";

/** A file name inside the manifest's folder: no separators, not `.`/`..`, not hidden. */
const FileName = (description: string) =>
  Type.String({ pattern: "^[A-Za-z0-9_][A-Za-z0-9_.-]*$", minLength: 1, maxLength: 253, description });

const HexPublicKey = (description: string) =>
  Type.String({ pattern: "^0x[0-9a-f]{96}$", minLength: 98, maxLength: 98, description: `${description} (48-byte BLS12-381 G1 point, 0x-lowercase hex)` });

export const KeyShareEntrySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253, description: "The share's name (its KeyShare's name), as the node reports it." }),
    validatorPubkey: HexPublicKey("The distributed validator's public key"),
    shareIndex: Type.Integer({ minimum: 1, maximum: MAX_OPERATORS, description: "Index of this share (1-based), the x of its Shamir point." }),
    threshold: Type.Integer({ minimum: 1, maximum: MAX_OPERATORS, description: "Shares needed to sign." }),
    publicShares: Type.Array(HexPublicKey("Public key of share i+1"), { minItems: 1, maxItems: MAX_OPERATORS, description: "Public keys of every share, in share-index order." }),
    keystoreFile: FileName("The share's EIP-2335 keystore"),
    passwordFile: FileName("The keystore's password (a trailing newline is ignored)"),
    clusterLockFile: FileName("The cluster lock the share was made under"),
  },
  { additionalProperties: false },
);

export const KeySharesManifestSchema = Type.Array(KeyShareEntrySchema, { maxItems: 10_000, description: "Every share an operator's node holds." });

export type KeyShareEntry = Static<typeof KeyShareEntrySchema>;
export type KeySharesManifest = Static<typeof KeySharesManifestSchema>;

/** The name of the lock with hash `lockHash` beside a manifest. */
export function lockFileName(lockHash: string): string {
  return `cluster-lock-${lockHash.replace(/^0x/, "").slice(0, 16)}.json`;
}

/**
 * Checks a parsed manifest: the schema, then what a schema cannot say (each share index among
 * the public shares, a reachable threshold, names and validators each listed once). `what`
 * names the manifest in errors.
 */
export function parseManifest(value: unknown, what: string): KeySharesManifest {
  const error = Value.Errors(KeySharesManifestSchema, value).First();
  if (error) throw new NektarError(`${what}: ${error.path || "/"}: ${error.message}`);
  const manifest = value as KeySharesManifest;
  const names = new Set<string>();
  const validators = new Set<string>();
  for (const [i, entry] of manifest.entries()) {
    const at = `${what}: /${i} (${entry.name})`;
    const n = entry.publicShares.length;
    if (entry.shareIndex > n) throw new NektarError(`${at}: shareIndex ${entry.shareIndex} is beyond the ${n} public shares`);
    if (entry.threshold > n) throw new NektarError(`${at}: threshold ${entry.threshold} is more than the ${n} public shares`);
    if (names.has(entry.name)) throw new NektarError(`${at}: the name ${entry.name} is listed twice`);
    if (validators.has(entry.validatorPubkey)) throw new NektarError(`${at}: validator ${entry.validatorPubkey} is listed twice; a node holds one share of a validator`);
    names.add(entry.name);
    validators.add(entry.validatorPubkey);
  }
  return manifest;
}

/** Reads and checks `path` (a keyshares.json). */
export async function readManifestFile(path: string): Promise<KeySharesManifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new NektarError(`key-shares manifest ${path}: cannot read it (${(err as Error).message})`);
  }
  return parseManifest(json, `key-shares manifest ${path}`);
}
