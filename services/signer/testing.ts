/**
 * In-process clusters of validator nodes for tests and benchmarks (bench/signer.ts): n operators
 * on loopback over real libp2p, each with its own slashing protection store, all driven by one
 * beacon node (a double, or a real node's URL). Not used by production code.
 *
 *     const cluster = await startTestCluster({ n: 16, threshold: 11, secrets, beaconUrl });
 *     ... cluster.stopNode(3); await cluster.restartNode(3); ...
 *     await cluster.stop();
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { type ClusterLock, LOCK_VERSION, lockHash, signLockHash } from "../core/cluster/lock.js";
import { secretKeyFromScalar, splitSecret } from "../core/crypto/index.js";
import { HttpTransport } from "../core/eth/beacon/index.js";
import { customNetwork, depositDataEntry, depositMessage, depositSigningRoot, eth1WithdrawalCredentials } from "../core/eth/index.js";
import { toHex } from "../core/hex.js";
import { createLogger } from "../core/log/index.js";
import { createDefinition, signDefinition } from "../core/p2p/definition.js";
import { type Identity, generateIdentity } from "../core/p2p/identity.js";
import { freePorts, membersOf } from "../core/p2p/testing.js";
import { FileSlashingProtection } from "./slashingProtection/index.js";
import { type Timing, type ValidatorNode, type ValidatorNodeOptions, startValidatorNode } from "./wire.js";

const WITHDRAWAL = "0x000000000000000000000000000000000000dead";

export interface TestLock {
  lock: ClusterLock;
  identities: Identity[];
  ports: number[];
  /** shares[operator][validator] */
  shares: bigint[][];
}

/**
 * A signed cluster lock for `secrets` (whole validator keys, split here by a trusted dealer: only
 * a test may do that; a real cluster runs the DKG), with valid deposit data.
 */
export async function testLock(opts: { n: number; threshold: number; secrets: readonly bigint[]; genesisForkVersion: string }): Promise<TestLock> {
  const identities = Array.from({ length: opts.n }, generateIdentity);
  const ports = await freePorts(opts.n);
  const members = membersOf(identities, ports);
  let definition = createDefinition({
    name: "test-cluster",
    forkVersion: opts.genesisForkVersion,
    threshold: opts.threshold,
    numValidators: opts.secrets.length,
    withdrawalAddress: WITHDRAWAL,
    feeRecipient: WITHDRAWAL,
    operators: members.map((m, i) => ({ ...m, address: `0x${(i + 1).toString(16).padStart(40, "0")}`, multiaddrs: [...m.multiaddrs] })),
  });
  for (const identity of identities) definition = await signDefinition(definition, identity);
  const network = customNetwork({ name: "test-network", genesisForkVersion: opts.genesisForkVersion });
  const shares: bigint[][] = identities.map(() => []);
  const validators = opts.secrets.map((secret) => {
    const key = secretKeyFromScalar(secret);
    const pubkey = key.toPublicKey().toBytes();
    const split = splitSecret(secret, opts.n, opts.threshold).shares;
    split.forEach((share, j) => shares[j]!.push(share.value));
    const message = depositMessage(pubkey, eth1WithdrawalCredentials(WITHDRAWAL), 32_000_000_000);
    const signature = key.sign(depositSigningRoot(message, network.genesisForkVersion)).toBytes();
    return {
      pubkey: toHex(pubkey),
      publicShares: split.map((s) => toHex(secretKeyFromScalar(s.value).toPublicKey().toBytes())),
      depositData: depositDataEntry({ message, signature, network }),
    };
  });
  const unsigned = { version: LOCK_VERSION, definition, validators } as const;
  const hash = lockHash(unsigned);
  const signatures = await Promise.all(identities.map(async (id) => toHex(await signLockHash(hash, id))));
  return { lock: { ...unsigned, lockHash: toHex(hash), signatures }, identities, ports, shares };
}

export interface TestClusterOptions {
  n: number;
  threshold: number;
  /** The validators' whole secret keys (the beacon double's are interop keys). */
  secrets: readonly bigint[];
  beaconUrl: string;
  genesisForkVersion: string;
  genesisValidatorsRoot: Uint8Array;
  duties?: ValidatorNodeOptions["duties"];
  timing?: Partial<Timing>;
  validatorClient?: boolean;
}

export interface TestCluster {
  readonly lock: ClusterLock;
  readonly identities: readonly Identity[];
  /** Each operator's p2p port on 127.0.0.1. */
  readonly ports: readonly number[];
  readonly shares: readonly (readonly bigint[])[];
  /** Running nodes by operator index; undefined while stopped. */
  readonly nodes: readonly (ValidatorNode | undefined)[];
  /** Each operator's slashing protection store (kept open across its node's restarts). */
  readonly protections: readonly FileSlashingProtection[];
  readonly registries: readonly Registry[];
  /** Stops operator i's node (its store stays, as a killed node's disk does). */
  stopNode(i: number): Promise<void>;
  /** Starts operator i's node again: same identity, port and slashing protection file (reopened). */
  restartNode(i: number): Promise<void>;
  /** Resolves once every running node is connected to every other running node. */
  waitConnected(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the nodes of a new test cluster (of the operators in `only`, default all: the others'
 * identities and ports are the test's, e.g. for byzantine hosts), one after the other.
 */
export async function startTestCluster(opts: TestClusterOptions & { only?: readonly number[] }): Promise<TestCluster> {
  const { lock, identities, ports, shares } = await testLock(opts);
  const dataDir = await mkdtemp(join(tmpdir(), "nektar-signer-"));
  const dirs = identities.map((_, i) => join(dataDir, `op-${i}`));
  await Promise.all(dirs.map((d) => mkdir(d)));
  const protections: FileSlashingProtection[] = await Promise.all(dirs.map((d) => FileSlashingProtection.open(d, { genesisValidatorsRoot: opts.genesisValidatorsRoot })));
  const nodes: (ValidatorNode | undefined)[] = identities.map(() => undefined);
  const registries: Registry[] = identities.map(() => new Registry());

  const start = async (i: number) => {
    const registry = new Registry();
    registries[i] = registry;
    nodes[i] = await startValidatorNode({
      lock,
      operatorIndex: i,
      shares: shares[i]!,
      p2p: { identity: identities[i]!, listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`] },
      // A loaded test machine answers late: more than a validator client's usual 4 s.
      beacon: new HttpTransport(opts.beaconUrl, { timeoutMs: 10_000 }),
      slashingProtection: protections[i]!,
      logger: createLogger("signer", { bindings: { node: `op-${i}` } }),
      registry,
      duties: opts.duties,
      timing: opts.timing,
      validatorClient: opts.validatorClient,
    });
  };
  // One at a time: each start is a burst of CPU (keys, libp2p), and the nodes (and perhaps the
  // beacon double) share one event loop.
  try {
    for (const i of opts.only ?? identities.map((_, i) => i)) await start(i);
  } catch (err) {
    await Promise.all(nodes.map((node) => node?.stop()));
    await Promise.all(protections.map((p) => p.close()));
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const cluster: TestCluster = {
    lock,
    identities,
    ports,
    shares,
    nodes,
    protections,
    registries,
    async stopNode(i) {
      const node = nodes[i];
      nodes[i] = undefined;
      await node?.stop();
    },
    async restartNode(i) {
      await cluster.stopNode(i);
      await protections[i]!.close();
      protections[i] = await FileSlashingProtection.open(dirs[i]!, { genesisValidatorsRoot: opts.genesisValidatorsRoot });
      await start(i);
    },
    async waitConnected(timeoutMs = 30_000) {
      const running = nodes.flatMap((node, i) => (node === undefined ? [] : [i]));
      const deadline = Date.now() + timeoutMs;
      while (running.some((i) => nodes[i]!.connectedPeers().length < running.length - 1)) {
        if (Date.now() > deadline) throw new Error(`cluster not connected within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      await Promise.all(nodes.map((_, i) => cluster.stopNode(i)));
      await Promise.all(protections.map((p) => p.close()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return cluster;
}

