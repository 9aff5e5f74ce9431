/**
 * The devnet's operators: each has a folder in the data dir holding its identity key (libp2p),
 * its BLS operator key as an EIP-2335 keystore (what it registers on-chain and signs AVS task
 * results with), its DKG output and its node's state; an anvil dev account is its Ethereum
 * account.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { SecretKey } from "@chainsafe/blst";
import { type KdfParams, encryptKeystore, writeKeystoreFile } from "../../core/crypto/index.js";
import { createIdentityFile, type Identity } from "../../core/p2p/identity.js";
import { writeFileAtomic } from "../../core/store/files.js";

/**
 * DEVNET ONLY: the KDF of the devnet's keystores, PBKDF2 at 2^10 iterations instead of EIP-2335's
 * 2^18 (as the DKG bench does), so 16 operators x 4 validators are written in a second rather
 * than a minute. These keys guard nothing; never use this cost for keys that do.
 */
export const DEVNET_KDF: KdfParams = { function: "pbkdf2", c: 1024 };

export const IDENTITY_FILE = "identity.key";
export const OPERATOR_KEYSTORE_FILE = "operator-bls-keystore.json";
export const DKG_DIR = "dkg";

export interface DevnetOperator {
  /** 0-based; the operator's share index in the DKG is index + 1. */
  readonly index: number;
  readonly name: string;
  readonly dir: string;
  /** Its anvil dev account. */
  readonly address: string;
  readonly identity: Identity;
  /** Registered in the OperatorRegistry; signs AVS task results. */
  readonly blsKey: SecretKey;
  /** Where its node listens for the cluster's libp2p traffic. */
  readonly p2pPort: number;
  readonly multiaddr: string;
}

/** The data dir's shared keystore password file (one for every devnet keystore). */
export async function writePasswordFile(dataDir: string): Promise<string> {
  const path = join(dataDir, "keystore-password.txt");
  await writeFileAtomic(path, randomBytes(16).toString("hex") + "\n", { mode: 0o600, overwrite: false });
  return path;
}

/** Creates operator `index`'s folder, identity and BLS key (written as a keystore under `password`). */
export async function createOperator(
  dataDir: string,
  index: number,
  address: string,
  p2pPort: number,
  password: string,
): Promise<DevnetOperator> {
  const name = `op-${index}`;
  const dir = join(dataDir, "operators", name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const identity = await createIdentityFile(join(dir, IDENTITY_FILE));
  const blsKey = SecretKey.fromKeygen(randomBytes(32));
  const keystore = await encryptKeystore(blsKey.toBytes(), password, {
    kdf: DEVNET_KDF,
    description: `nektar devnet: BLS operator key of ${name}`,
  });
  await writeKeystoreFile(join(dir, OPERATOR_KEYSTORE_FILE), keystore);
  return { index, name, dir, address, identity, blsKey, p2pPort, multiaddr: `/ip4/127.0.0.1/tcp/${p2pPort}` };
}
