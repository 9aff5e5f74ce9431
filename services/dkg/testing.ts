/**
 * Test and benchmark helpers: signed definitions for generated identities, and whole ceremonies
 * run in one process (over real libp2p on loopback, or in memory). Not used by production code.
 */
import { Registry } from "prom-client";
import { type ClusterDefinition, createDefinition, minThreshold, signDefinition } from "../core/p2p/definition.js";
import { ClusterHost } from "../core/p2p/host.js";
import { type Identity, generateIdentity } from "../core/p2p/identity.js";
import { freePorts } from "../core/p2p/testing.js";
import { type CeremonyOptions, type CeremonyResult, runCeremony } from "./ceremony.js";
import { ClusterHostNetwork } from "./libp2p.js";
import { MemoryHub } from "./memory.js";

/** An address that passes the definition's EIP-55 check and is not zero. */
export const TEST_WITHDRAWAL_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
/** Hoodi's genesis fork version, so deposit data names a known network. */
export const TEST_FORK_VERSION = "0x10000910";

export interface TestDefinitionOptions {
  numValidators: number;
  threshold?: number;
  /** Listening ports on 127.0.0.1, one per identity; default: placeholders (for in-memory runs). */
  ports?: readonly number[];
  name?: string;
}

/** A definition of `identities` as operators, signed by all of them. */
export async function testDefinition(identities: readonly Identity[], opts: TestDefinitionOptions): Promise<ClusterDefinition> {
  let def = createDefinition({
    name: opts.name ?? "test-cluster",
    forkVersion: TEST_FORK_VERSION,
    threshold: opts.threshold ?? minThreshold(identities.length),
    numValidators: opts.numValidators,
    withdrawalAddress: TEST_WITHDRAWAL_ADDRESS,
    feeRecipient: TEST_WITHDRAWAL_ADDRESS,
    operators: identities.map((id, i) => ({
      name: `op-${i}`,
      address: `0x${(i + 1).toString(16).padStart(40, "0")}`,
      peerId: id.peerId.toString(),
      multiaddrs: [`/ip4/127.0.0.1/tcp/${opts.ports?.[i] ?? 10_000 + i}`],
    })),
  });
  for (const identity of identities) def = await signDefinition(def, identity);
  return def;
}

/** Per-operator options of a ceremony run by the helpers below, by operator index. */
export type OperatorOptions = (index: number) => Partial<Omit<CeremonyOptions, "definition" | "identity" | "network">>;

/** Runs every operator's ceremony in memory; rejects with the first operator's failure. */
export async function runInMemory(definition: ClusterDefinition, identities: readonly Identity[], perOperator: OperatorOptions = () => ({})): Promise<CeremonyResult[]> {
  const hub = new MemoryHub(identities.length);
  return Promise.all(identities.map((identity, i) => runCeremony({ definition, identity, network: hub.network(i), ...perOperator(i) })));
}

/** A cluster of operators on 127.0.0.1: identities, free ports, and their signed definition. */
export async function loopbackCluster(n: number, opts: Omit<TestDefinitionOptions, "ports">): Promise<{ identities: Identity[]; definition: ClusterDefinition }> {
  const identities = Array.from({ length: n }, generateIdentity);
  const ports = await freePorts(n);
  return { identities, definition: await testDefinition(identities, { ...opts, ports }) };
}

/** A started ClusterHost for `identity` among the definition's operators, listening on its address there. */
export async function startHost(definition: ClusterDefinition, identity: Identity): Promise<{ host: ClusterHost; network: ClusterHostNetwork }> {
  const op = definition.operators.find((o) => o.peerId === identity.peerId.toString())!;
  const host = new ClusterHost({
    identity,
    operators: definition.operators,
    listen: op.multiaddrs,
    registry: new Registry(),
    redial: { initialMs: 50, maxMs: 500 },
  });
  const network = new ClusterHostNetwork(host);
  await host.start();
  return { host, network };
}

/**
 * Runs every operator's ceremony over real libp2p on loopback, one ClusterHost each, all in this
 * process; the hosts are stopped whatever happens. Each result is the operator's outcome.
 */
export async function runOverLibp2p(
  definition: ClusterDefinition,
  identities: readonly Identity[],
  perOperator: OperatorOptions = () => ({}),
): Promise<PromiseSettledResult<CeremonyResult>[]> {
  const started = await Promise.all(identities.map((identity) => startHost(definition, identity)));
  try {
    return await Promise.allSettled(
      identities.map((identity, i) => runCeremony({ definition, identity, network: started[i]!.network, ...perOperator(i) })),
    );
  } finally {
    await Promise.all(started.map(({ host }) => host.stop()));
  }
}
