/**
 * Test helpers: a cluster's files on disk, as a DKG would leave them, but from validator keys the
 * test chooses (split by a trusted dealer), so a test can check a cluster's signature against
 * the whole key, or run genesis validators of a dev chain. Not used by production code.
 *
 *   <dir>/op-<i>/identity.key
 *   <dir>/op-<i>/password.txt
 *   <dir>/op-<i>/data/                                                        the node's dataDir
 *   <dir>/op-<i>/dkg/{cluster-lock.json, validator_keys/keystore-<v>.json}     a DKG output folder
 *   <dir>/op-<i>/keyshares/{keyshares.json, ...}                              written by writeManifestFolder
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type KdfParams, encryptKeystore, toBytes32, writeKeystoreFile } from "../../core/crypto/index.js";
import { dealCluster } from "../../core/cluster/dealt.js";
import { type ClusterLock, formatLock } from "../../core/cluster/lock.js";
import { type KeyShareEntry, MANIFEST_FILE, lockFileName } from "../../core/cluster/manifest.js";
import { KEYS_DIR, LOCK_FILE, keystoreFile } from "../../core/cluster/shares.js";
import type { Network } from "../../core/eth/index.js";
import { toHex } from "../../core/hex.js";
import { createDefinition, signDefinition } from "../../core/p2p/definition.js";
import { type Identity, createIdentityFile } from "../../core/p2p/identity.js";
import type { NodeConfig } from "./config.js";

export const TEST_PASSWORD = "nektar test password";
/** Cheap on purpose: tests decrypt many keystores. */
export const TEST_KDF: KdfParams = { function: "pbkdf2", c: 16 };
const WITHDRAWAL_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

export interface TestClusterOptions {
  /** The validators' whole secret keys. */
  validatorSecrets: readonly bigint[];
  operators: number;
  threshold: number;
  /** Each operator's p2p port on 127.0.0.1. */
  ports: readonly number[];
  /** The network the deposit data is for (its genesis fork version, its name). */
  network: Network;
}

export interface TestOperatorFiles {
  identity: Identity;
  dir: string;
  identityFile: string;
  passwordFile: string;
  /** The DKG output folder: cluster-lock.json and validator_keys/. */
  dkgDir: string;
  /** This operator's share of each validator, in lock order. */
  shares: bigint[];
}

export interface TestClusterFiles {
  lock: ClusterLock;
  operators: TestOperatorFiles[];
}

export async function writeTestCluster(dir: string, options: TestClusterOptions): Promise<TestClusterFiles> {
  const { operators: n, threshold, network } = options;
  const identities: { identity: Identity; dir: string; identityFile: string }[] = [];
  for (let i = 0; i < n; i++) {
    const opDir = join(dir, `op-${i}`);
    await mkdir(join(opDir, "dkg", KEYS_DIR), { recursive: true });
    await mkdir(join(opDir, "data"));
    const identityFile = join(opDir, "identity.key");
    identities.push({ identity: await createIdentityFile(identityFile), dir: opDir, identityFile });
  }
  let definition = createDefinition({
    name: "test-cluster",
    forkVersion: toHex(network.genesisForkVersion),
    threshold,
    numValidators: options.validatorSecrets.length,
    withdrawalAddress: WITHDRAWAL_ADDRESS,
    feeRecipient: WITHDRAWAL_ADDRESS,
    operators: identities.map(({ identity }, i) => ({
      name: `op-${i}`,
      address: `0x${(i + 1).toString(16).padStart(40, "0")}`,
      peerId: identity.peerId.toString(),
      multiaddrs: [`/ip4/127.0.0.1/tcp/${options.ports[i]}`],
    })),
  });
  for (const { identity } of identities) definition = await signDefinition(definition, identity);

  const { lock, shares: operatorShares } = await dealCluster(definition, options.validatorSecrets, network, identities.map(({ identity }) => identity));

  const operators: TestOperatorFiles[] = [];
  for (const [i, { identity, dir: opDir, identityFile }] of identities.entries()) {
    const passwordFile = join(opDir, "password.txt");
    await writeFile(passwordFile, `${TEST_PASSWORD}\n`, { mode: 0o600 });
    await writeFile(join(opDir, "dkg", LOCK_FILE), formatLock(lock));
    const shares = operatorShares[i]!;
    for (const [v, share] of shares.entries()) {
      await writeKeystoreFile(join(opDir, "dkg", KEYS_DIR, keystoreFile(v)), await encryptKeystore(toBytes32(share), TEST_PASSWORD, { kdf: TEST_KDF }));
    }
    operators.push({ identity, dir: opDir, identityFile, passwordFile, dkgDir: join(opDir, "dkg"), shares });
  }
  return { lock, operators };
}

/**
 * The key-shares folder of operator `index` as the controller's Secret holds it (keyshares.json,
 * keystores, passwords, the lock), for the validators `validators` of the lock (default all).
 */
export async function writeManifestFolder(dir: string, cluster: TestClusterFiles, index: number, validators?: readonly number[]): Promise<KeyShareEntry[]> {
  await mkdir(dir, { recursive: true });
  const { lock } = cluster;
  const op = cluster.operators[index]!;
  const clusterLockFile = lockFileName(lock.lockHash);
  await writeFile(join(dir, clusterLockFile), formatLock(lock));
  const entries: KeyShareEntry[] = [];
  for (const v of validators ?? lock.validators.map((_, v) => v)) {
    const name = `dv-${v}-share-${index + 1}`;
    const keystoreFile = `${name}.keystore.json`;
    const passwordFile = `${name}.password`;
    await writeKeystoreFile(join(dir, keystoreFile), await encryptKeystore(toBytes32(op.shares[v]!), TEST_PASSWORD, { kdf: TEST_KDF }));
    await writeFile(join(dir, passwordFile), TEST_PASSWORD);
    const validator = lock.validators[v]!;
    entries.push({ name, validatorPubkey: validator.pubkey, shareIndex: index + 1, threshold: lock.definition.threshold, publicShares: validator.publicShares, keystoreFile, passwordFile, clusterLockFile });
  }
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(entries, null, 2)}\n`);
  return entries;
}

/** node.json for operator `op` on 127.0.0.1, its shares from its DKG folder unless `keySharesDir` is given. */
export function testNodeConfig(
  op: TestOperatorFiles,
  ports: { p2p: number; api: number; metrics: number },
  options: { beaconNodeUrls: string[]; network: string; keySharesDir?: string; validatorClient?: boolean },
): NodeConfig {
  const local = "127.0.0.1";
  return {
    network: options.network,
    beaconNodeUrls: options.beaconNodeUrls,
    p2p: { port: ports.p2p, address: local },
    api: { port: ports.api, address: local },
    metrics: { port: ports.metrics, address: local },
    identityFile: op.identityFile,
    dataDir: join(op.dir, "data"),
    ...(options.keySharesDir !== undefined
      ? { keySharesDir: options.keySharesDir }
      : { lockFile: join(op.dkgDir, LOCK_FILE), keysDir: join(op.dkgDir, KEYS_DIR), passwordFile: op.passwordFile }),
    ...(options.validatorClient !== undefined && { validatorClient: options.validatorClient }),
  };
}
