/**
 * "The lock says who, node.json says where": four nodes (threshold 3) whose cluster lock lists
 * addresses nobody listens on, as a lock made by Kubernetes DKG Jobs does once the Jobs are gone,
 * find each other through node.json's `peers` and sign for a validator client.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { DOMAIN_RANDAO } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { secretKeyFromScalar } from "../../core/crypto/bls.js";
import { randomScalar } from "../../core/crypto/fr.js";
import { computeDomain, computeSigningRoot } from "../../core/eth/domains.js";
import { customNetwork } from "../../core/eth/networks.js";
import { toHex } from "../../core/hex.js";
import { createLogger } from "../../core/log/index.js";
import { freePorts } from "../../core/p2p/testing.js";
import { BeaconDouble } from "../../../test/doubles/beacon/double.js";
import { type RunningNode, runNode } from "./node.js";
import { testNodeConfig, writeTestCluster } from "./testing.js";

const N = 4;
// The double's chain (test/doubles/beacon/double.ts): Altair from genesis.
const GVR = new Uint8Array(32).fill(0x42);
const ALTAIR = Uint8Array.of(1, 0, 0, 1);
const forkInfo = { fork: { previous_version: "0x00000001", current_version: toHex(ALTAIR), epoch: "0" }, genesis_validators_root: toHex(GVR) };

describe("nektar node dials its peers where node.json's peers says, not where the lock does", () => {
  const secret = randomScalar();
  const pubkey = toHex(secretKeyFromScalar(secret).toPublicKey().toBytes());
  let dir: string;
  let beacon: BeaconDouble;
  let nodes: RunningNode[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-node-peers-"));
    // Genesis a slot ago: a node refuses requests for slots ahead of its clock.
    beacon = await BeaconDouble.start({ slotMs: 6000, genesisDelayMs: -6000 });
    // The lock's ports are free ones nobody listens on: dialing them is refused.
    const ports = await freePorts(4 * N);
    const [lockPorts, p2p, apiPorts, metricsPorts] = [0, 1, 2, 3].map((k) => ports.slice(k * N, (k + 1) * N)) as [number[], number[], number[], number[]];
    const cluster = await writeTestCluster(dir, { validatorSecrets: [secret], operators: N, threshold: 3, ports: lockPorts, network: customNetwork({ name: "beacon-double", genesisForkVersion: "0x00000001" }) });
    const peers = cluster.operators.map((op, i) => ({ peerId: op.identity.peerId.toString(), multiaddrs: [`/ip4/127.0.0.1/tcp/${p2p[i]}`] }));
    // A peer id no lock lists, as in a namespace with several clusters: ignored.
    const stranger = { peerId: "16Uiu2HAm9uV7Pg3SstSUeXgi1tPVYHhM87wz3hwLiypfHGV1vVdm", multiaddrs: ["/ip4/127.0.0.1/tcp/1"] };
    const configs = cluster.operators.map((op, i) => ({
      ...testNodeConfig(op, { p2p: p2p[i]!, api: apiPorts[i]!, metrics: metricsPorts[i]! }, { beaconNodeUrls: [beacon.url], network: "beacon-double", validatorClient: false }),
      peers: [...peers.filter((_, j) => j !== i), stranger],
    }));
    nodes = await Promise.all(configs.map((config, i) => runNode(config, { logger: (component) => createLogger(component, { bindings: { op: i } }) })));
    await Promise.all(nodes.map((node) => node.started));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await beacon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("connects to every peer and signs with the cluster", async () => {
    const deadline = Date.now() + 30_000;
    let connected = 0;
    while (connected !== N - 1 && Date.now() < deadline) {
      connected = ((await (await fetch(`${nodes[0]!.apiUrl}/v1/node`)).json()) as { connectedPeers: number }).connectedPeers;
      if (connected !== N - 1) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(connected).toBe(N - 1);

    const epoch = Math.floor(Math.max(0, beacon.currentSlot()) / beacon.slotsPerEpoch);
    const root = computeSigningRoot(ssz.Epoch, epoch, computeDomain(DOMAIN_RANDAO, ALTAIR, GVR));
    const response = await fetch(`${nodes[1]!.apiUrl}/api/v1/eth2/sign/${pubkey}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "RANDAO_REVEAL", fork_info: forkInfo, randao_reveal: { epoch: String(epoch) } }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ signature: toHex(secretKeyFromScalar(secret).sign(root).toBytes()) });
  }, 60_000);
});

