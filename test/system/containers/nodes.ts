/**
 * `nektar node` in containers: each operator's node.json on its volume, the node API read from
 * the test, and the keys of a cluster whose validators the beacon double knows.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { mkdir, writeFile } from "node:fs/promises";
import { type ClusterLock, LOCK_VERSION, formatLock, lockHash, signLockHash } from "../../../services/core/cluster/lock.js";
import { KEYS_DIR, LOCK_FILE, keystoreFile } from "../../../services/core/cluster/shares.js";
import { encryptKeystore, publicShare, secretKeyFromScalar, splitSecret, toBytes32, writeKeystoreFile } from "../../../services/core/crypto/index.js";
import { customNetwork, depositDataEntry, depositMessage, depositSigningRoot, eth1WithdrawalCredentials } from "../../../services/core/eth/index.js";
import { toHex } from "../../../services/core/hex.js";
import { createDefinition, signDefinition } from "../../../services/core/p2p/definition.js";
import { createIdentityFile } from "../../../services/core/p2p/identity.js";
import { type ContainerCluster, type NodeContainer, STATE_DIR } from "./cluster.js";
import { DKG_DIR, P2P_PORT, PASSWORD } from "./dkg.js";

export const API_PORT = 3600;
export const METRICS_PORT = 9464;
/** The beacon double's network: its name for the nodes and its genesis fork version. */
export const DOUBLE_NETWORK = customNetwork({ name: "beacon-double", genesisForkVersion: "0x00000001" });

/** What GET /v1/node answers (docs/kubernetes.md, the node API). */
export interface NodeReport {
  peerId: string;
  connectedPeers: number;
  keyShares: { name: string; lastDuty?: { slot: number; type: string } }[];
}

/**
 * Writes operator `op`'s node.json, running from the ceremony output in its volume
 * (dkg/cluster-lock.json, dkg/validator_keys/, password.txt), and returns its container path.
 */
export function writeNodeConfig(cluster: ContainerCluster, op: string, options: { beaconUrl: string; validatorClient: boolean }): string {
  mkdirSync(join(cluster.volume(op), "data"), { recursive: true });
  cluster.own(op);
  const config = {
    network: DOUBLE_NETWORK.name,
    beaconNodeUrls: [options.beaconUrl],
    p2p: { port: P2P_PORT },
    api: { port: API_PORT },
    metrics: { port: METRICS_PORT },
    identityFile: `${STATE_DIR}/identity.key`,
    lockFile: `${STATE_DIR}/${DKG_DIR}/${LOCK_FILE}`,
    keysDir: `${STATE_DIR}/${DKG_DIR}/${KEYS_DIR}`,
    passwordFile: `${STATE_DIR}/password.txt`,
    dataDir: `${STATE_DIR}/data`,
    validatorClient: options.validatorClient,
  };
  return cluster.writeFile(op, "node.json", JSON.stringify(config, null, 2));
}

/** Starts `nektar node` in a container per operator (named as the operator: peers dial it by that name). */
export function startNodes(cluster: ContainerCluster, operators: readonly string[], options: { beaconUrl: string; validatorClient: boolean }): Promise<NodeContainer[]> {
  return Promise.all(
    operators.map((op) =>
      // The preset of @lodestar/types (its default, mainnet) is the test process's too, where
      // the beacon double encodes what the nodes decode.
      cluster.start(op, ["node", "--config", writeNodeConfig(cluster, op, options)]),
    ),
  );
}

export async function nodeReport(node: NodeContainer): Promise<NodeReport> {
  const response = await fetch(`${await node.url(API_PORT)}/v1/node`, { signal: AbortSignal.timeout(5_000) });
  if (response.status !== 200) throw new Error(`${node.name}: GET /v1/node answered ${response.status}`);
  return (await response.json()) as NodeReport;
}

/** One validator's EIP-3076 interchange, as the node API exports it from the node's store. */
export interface Interchange {
  data: { pubkey: string; signed_blocks: { slot: string; signing_root?: string }[]; signed_attestations: { source_epoch: string; target_epoch: string; signing_root?: string }[] }[];
}

export async function slashingProtection(node: NodeContainer, pubkey: string): Promise<Interchange> {
  const response = await fetch(`${await node.url(API_PORT)}/v1/slashing-protection?pubkey=${pubkey}`, { signal: AbortSignal.timeout(5_000) });
  if (response.status !== 200) throw new Error(`${node.name}: GET /v1/slashing-protection answered ${response.status}`);
  return (await response.json()) as Interchange;
}

export async function ready(node: NodeContainer): Promise<void> {
  const response = await fetch(`${await node.url(API_PORT)}/readyz`, { signal: AbortSignal.timeout(5_000) });
  if (response.status !== 200) throw new Error(`${node.name}: /readyz answered ${response.status}: ${await response.text()}`);
}

/**
 * A cluster's keys dealt from validator secrets the test chooses, in each operator's volume in
 * the layout a DKG leaves (dkg/cluster-lock.json, dkg/validator_keys/, identity.key,
 * password.txt), operators dialled at /dns4/op-<i>/tcp/3610. For the beacon double's
 * validators, whose keys a DKG cannot make (services/signer/node/testing.ts does the same for
 * processes on loopback).
 */
export async function dealCluster(cluster: ContainerCluster, options: { validatorSecrets: readonly bigint[]; operators: number; threshold: number }): Promise<{ lock: ClusterLock; operators: string[] }> {
  const network = DOUBLE_NETWORK;
  const names = Array.from({ length: options.operators }, (_, i) => `op-${i}`);
  const identities = await Promise.all(names.map((op) => createIdentityFile(join(cluster.volume(op), "identity.key"))));
  const withdrawal = `0x${"aa".repeat(20)}`;
  let definition = createDefinition({
    name: "containers",
    forkVersion: toHex(network.genesisForkVersion),
    threshold: options.threshold,
    numValidators: options.validatorSecrets.length,
    withdrawalAddress: withdrawal,
    feeRecipient: withdrawal,
    operators: identities.map((identity, i) => ({
      name: names[i]!,
      address: `0x${(i + 1).toString(16).padStart(40, "0")}`,
      peerId: identity.peerId.toString(),
      multiaddrs: [`/dns4/${names[i]}/tcp/${P2P_PORT}`],
    })),
  });
  for (const identity of identities) definition = await signDefinition(definition, identity);

  const split = options.validatorSecrets.map((secret) => splitSecret(secret, options.operators, options.threshold).shares);
  const validators = options.validatorSecrets.map((secret, v) => {
    const key = secretKeyFromScalar(secret);
    const message = depositMessage(key.toPublicKey().toBytes(), eth1WithdrawalCredentials(withdrawal), 32_000_000_000);
    return {
      pubkey: toHex(key.toPublicKey().toBytes()),
      publicShares: split[v]!.map((share) => toHex(publicShare(share).publicKey.toBytes())),
      depositData: depositDataEntry({ message, signature: key.sign(depositSigningRoot(message, network.genesisForkVersion)).toBytes(), network }),
    };
  });
  const unsigned = { version: LOCK_VERSION, definition, validators } as const;
  const hash = lockHash(unsigned);
  const lock: ClusterLock = { ...unsigned, lockHash: toHex(hash), signatures: await Promise.all(identities.map(async (identity) => toHex(await signLockHash(hash, identity)))) };

  await Promise.all(
    names.map(async (op, i) => {
      const out = join(cluster.volume(op), DKG_DIR);
      await mkdir(join(out, KEYS_DIR), { recursive: true });
      await writeFile(join(out, LOCK_FILE), formatLock(lock));
      for (const [v, shares] of split.entries()) {
        // pbkdf2 with few rounds: sixteen nodes decrypt their keystores at once on two cores.
        const keystore = await encryptKeystore(toBytes32(shares[i]!.value), PASSWORD, { kdf: { function: "pbkdf2", c: 16 } });
        await writeKeystoreFile(join(out, KEYS_DIR, keystoreFile(v)), keystore);
      }
      await writeFile(join(cluster.volume(op), "password.txt"), `${PASSWORD}\n`, { mode: 0o600 });
      cluster.own(op);
    }),
  );
  return { lock, operators: names };
}
