/**
 * Four `nektar node`s (threshold 3) in this process, each from its DKG folder, over real libp2p
 * on loopback, against the beacon-node double; a validator client's view through the HTTP APIs:
 * the Web3Signer API signs with the cluster, and the signature is the whole key's over the
 * signing root the specs define, with one node down; slashing protection answers 412; the node
 * API reports what the controller reads.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { DOMAIN_BEACON_ATTESTER, DOMAIN_RANDAO } from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import { randomScalar } from "../../core/crypto/fr.js";
import { secretKeyFromScalar } from "../../core/crypto/bls.js";
import { computeDomain, computeSigningRoot } from "../../core/eth/domains.js";
import { customNetwork } from "../../core/eth/networks.js";
import { toHex } from "../../core/hex.js";
import { createLogger } from "../../core/log/index.js";
import { freePorts } from "../../core/p2p/testing.js";
import { BeaconDouble } from "../../../test/doubles/beacon/double.js";
import { type RunningNode, runNode } from "./node.js";
import { type TestClusterFiles, testNodeConfig, writeManifestFolder, writeTestCluster } from "./testing.js";

const N = 4;
const T = 3;
// The double's chain (test/doubles/beacon/double.ts): Altair from genesis.
const GVR = new Uint8Array(32).fill(0x42);
const ALTAIR = Uint8Array.of(1, 0, 0, 1);
const forkInfo = { fork: { previous_version: "0x00000001", current_version: toHex(ALTAIR), epoch: "0" }, genesis_validators_root: toHex(GVR) };

async function eventually<T>(fn: () => Promise<T>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** The response's status, with its body when it is not the one expected (for the failure message). */
async function status(response: Response, expected: number): Promise<number | string> {
  return response.status === expected ? expected : `${response.status} ${await response.text()}`;
}

describe("nektar node's HTTP APIs, four nodes in one process", () => {
  // One validator per test that signs an attestation: votes of one target epoch would conflict.
  const secrets = [randomScalar(), randomScalar(), randomScalar()];
  const pubkeys = secrets.map((s) => toHex(secretKeyFromScalar(s).toPublicKey().toBytes()));
  let dir: string;
  let beacon: BeaconDouble;
  let cluster: TestClusterFiles;
  let nodes: (RunningNode | undefined)[];
  let api: string[];
  let metrics: string[];

  const sign = (node: number, pubkey: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${api[node]}/api/v1/eth2/sign/${pubkey}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  /** Attestation data for the current slot (a node signs nothing far from its clock). */
  const attestation = (rootByte: number): phase0.AttestationData => {
    const slot = Math.max(0, beacon.currentSlot());
    const target = Math.floor(slot / beacon.slotsPerEpoch);
    return {
      slot,
      index: 0,
      beaconBlockRoot: new Uint8Array(32).fill(rootByte),
      source: { epoch: Math.max(0, target - 1), root: new Uint8Array(32).fill(1) },
      target: { epoch: target, root: new Uint8Array(32).fill(rootByte) },
    };
  };
  const attestationRoot = (data: phase0.AttestationData) => computeSigningRoot(ssz.phase0.AttestationData, data, computeDomain(DOMAIN_BEACON_ATTESTER, ALTAIR, GVR));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-node-api-"));
    // Slots of 6 s: the tests run within an epoch of the clock, as a validator client's requests do.
    // Genesis a slot ago: a node refuses requests for slots ahead of its clock, and setup can beat genesis.
    beacon = await BeaconDouble.start({ slotMs: 6000, genesisDelayMs: -6000 });
    const ports = await freePorts(3 * N);
    cluster = await writeTestCluster(dir, {
      validatorSecrets: secrets,
      operators: N,
      threshold: T,
      ports: ports.slice(0, N),
      network: customNetwork({ name: "beacon-double", genesisForkVersion: "0x00000001" }),
    });
    // The validator client is the test: the nodes do no duties of their own.
    const configs = cluster.operators.map((op, i) =>
      testNodeConfig(op, { p2p: ports[i]!, api: ports[N + i]!, metrics: ports[2 * N + i]! }, { beaconNodeUrls: [beacon.url], network: "beacon-double", validatorClient: false }),
    );
    nodes = await Promise.all(configs.map((config, i) => runNode(config, { logger: (component) => createLogger(component, { bindings: { op: i } }) })));
    await Promise.all(nodes.map((node) => node!.started));
    api = nodes.map((node) => node!.apiUrl);
    metrics = nodes.map((node) => node!.metricsUrl);
  }, 60_000);

  afterAll(async () => {
    await Promise.all((nodes ?? []).map((node) => node?.stop()));
    await beacon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("is ready once identity, shares and beacon node are there, and reports itself as the controller reads it", async () => {
    await eventually(async () => {
      const response = await fetch(`${api[0]}/readyz`);
      if (response.status !== 200) throw new Error(JSON.stringify(await response.json()));
    }, "node 0 ready");
    expect((await fetch(`${api[0]}/livez`)).status).toBe(200);
    const report = await eventually(async () => {
      const body = (await (await fetch(`${api[0]}/v1/node`)).json()) as { peerId: string; connectedPeers: number; keyShares: { name: string }[] };
      if (body.connectedPeers !== N - 1) throw new Error(`${body.connectedPeers} peers connected`);
      return body;
    }, "node 0 connected to its peers");
    expect(report.peerId).toBe(cluster.operators[0]!.identity.peerId.toString());
    expect(report.keyShares.map((s) => s.name)).toEqual(["validator-0", "validator-1", "validator-2"]);
  });

  it("answers upcheck and lists its validators as Web3Signer does", async () => {
    expect(await (await fetch(`${api[1]}/upcheck`)).json()).toEqual({ status: "OK" });
    expect(await (await fetch(`${api[1]}/api/v1/eth2/publicKeys`)).json()).toEqual(pubkeys);
    // Lodestar 1.x sends a JSON content type on its GETs, with no body.
    const asLodestar = await fetch(`${api[1]}/upcheck`, { headers: { "content-type": "application/json" } });
    expect(await status(asLodestar, 200)).toBe(200);
  });

  it("signs an attestation with the cluster: the whole key's signature over the specs' signing root", async () => {
    const data = attestation(0xa1);
    const root = attestationRoot(data);
    const response = await sign(0, pubkeys[0]!, { type: "ATTESTATION", fork_info: forkInfo, signingRoot: toHex(root), attestation: ssz.phase0.AttestationData.toJson(data) });
    expect(await status(response.clone(), 200)).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ signature: toHex(secretKeyFromScalar(secrets[0]!).sign(root).toBytes()) });
  });

  it("answers text/plain when asked, as Web3Signer does by default", async () => {
    const epoch = Math.floor(Math.max(0, beacon.currentSlot()) / beacon.slotsPerEpoch);
    const root = computeSigningRoot(ssz.Epoch, epoch, computeDomain(DOMAIN_RANDAO, ALTAIR, GVR));
    const response = await sign(2, pubkeys[1]!, { type: "RANDAO_REVEAL", fork_info: forkInfo, randao_reveal: { epoch: String(epoch) } }, { accept: "text/plain" });
    expect(await status(response.clone(), 200)).toBe(200);
    expect(await response.text()).toBe(toHex(secretKeyFromScalar(secrets[1]!).sign(root).toBytes()));
  });

  it("refuses a conflicting attestation with 412, and re-signs the same one", async () => {
    const data = attestation(0xb1);
    const body = { type: "ATTESTATION", fork_info: forkInfo, attestation: ssz.phase0.AttestationData.toJson(data) };
    expect(await status(await sign(1, pubkeys[1]!, body), 200)).toBe(200);
    expect(await status(await sign(1, pubkeys[1]!, body), 200)).toBe(200);
    // Another vote for the same target: a double vote.
    const double = { ...body, attestation: ssz.phase0.AttestationData.toJson({ ...data, beaconBlockRoot: new Uint8Array(32).fill(0xb2) }) };
    const refused = await sign(1, pubkeys[1]!, double);
    expect(await status(refused, 412)).toBe(412);
    // The refusal is recorded nowhere, the signed vote everywhere that signed: the interchange shows it.
    const interchange = (await (await fetch(`${api[1]}/v1/slashing-protection?pubkey=${pubkeys[1]}`)).json()) as {
      metadata: { genesis_validators_root: string };
      data: { pubkey: string; signed_attestations: { target_epoch: string; signing_root?: string }[] }[];
    };
    expect(interchange.metadata.genesis_validators_root).toBe(toHex(GVR));
    expect(interchange.data[0]!.signed_attestations).toContainEqual(expect.objectContaining({ target_epoch: String(data.target.epoch), signing_root: toHex(attestationRoot(data)) }));
  });

  it("answers 404 for a key it holds no share of, 400 naming the field for a bad request", async () => {
    const unknown = toHex(secretKeyFromScalar(randomScalar()).toPublicKey().toBytes());
    expect((await sign(0, unknown, { type: "RANDAO_REVEAL", fork_info: forkInfo, randao_reveal: { epoch: "1" } })).status).toBe(404);
    const bad = await sign(0, pubkeys[0]!, { type: "ATTESTATION", fork_info: forkInfo, attestation: { slot: "1" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^attestation\.index: missing/);
    const wrongRoot = await sign(0, pubkeys[0]!, { type: "RANDAO_REVEAL", fork_info: forkInfo, randao_reveal: { epoch: "1" }, signingRoot: toHex(new Uint8Array(32)) });
    expect(wrongRoot.status).toBe(400);
    expect(((await wrongRoot.json()) as { error: string }).error).toMatch(/^signingRoot: /);
    expect((await fetch(`${api[0]}/v1/slashing-protection?pubkey=0x12`)).status).toBe(400);
    expect((await fetch(`${api[0]}/v1/slashing-protection?pubkey=${unknown}`)).status).toBe(404);
  });

  it("serves process and signer metrics on the metrics port", async () => {
    const text = await (await fetch(`${metrics[0]}/metrics`)).text();
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nektar_/m);
  });

  it("still signs with one node down (3 of 4)", async () => {
    await nodes[3]!.stop();
    nodes[3] = undefined;
    const data = attestation(0xc1);
    const response = await sign(0, pubkeys[2]!, { type: "ATTESTATION", fork_info: forkInfo, attestation: ssz.phase0.AttestationData.toJson(data) });
    expect(await status(response.clone(), 200)).toBe(200);
    expect(await response.json()).toEqual({ signature: toHex(secretKeyFromScalar(secrets[2]!).sign(attestationRoot(data)).toBytes()) });
  });

  it("loads shares when its key-shares Secret appears, without a restart", async () => {
    const keyshares = join(dir, "op-3", "keyshares");
    const [apiPort, metricsPort] = await freePorts(2);
    // Peers dial operator 3 at its address in the lock: the same p2p port as before.
    const p2p = Number(cluster.lock.definition.operators[3]!.multiaddrs[0]!.split("/").pop());
    const config = testNodeConfig(cluster.operators[3]!, { p2p, api: apiPort!, metrics: metricsPort! }, { beaconNodeUrls: [beacon.url], network: "beacon-double", keySharesDir: keyshares, validatorClient: false });
    const node = await runNode(config, { logger: (component) => createLogger(component, { bindings: { op: 3 } }), sharesPollMs: 200 });
    nodes[3] = node;
    await node.started;
    expect(await (await fetch(`${node.apiUrl}/api/v1/eth2/publicKeys`)).json()).toEqual([]);
    await writeManifestFolder(keyshares, cluster, 3);
    const keys = await eventually(async () => {
      const listed = (await (await fetch(`${node.apiUrl}/api/v1/eth2/publicKeys`)).json()) as string[];
      if (listed.length === 0) throw new Error("no keys yet");
      return listed;
    }, "shares hot-loaded");
    expect(keys).toEqual(pubkeys);
    const report = (await (await fetch(`${node.apiUrl}/v1/node`)).json()) as { keyShares: { name: string }[] };
    expect(report.keyShares.map((s) => s.name)).toEqual(["dv-0-share-4", "dv-1-share-4", "dv-2-share-4"]);

    // A set it refuses (another operator's share index) leaves it signing with the one it has, and says so.
    const manifest = JSON.parse(await readFile(join(keyshares, "keyshares.json"), "utf8")) as { shareIndex: number }[];
    await writeFile(join(keyshares, "keyshares.json"), JSON.stringify(manifest.map((e) => ({ ...e, shareIndex: 1 }))));
    const readiness = await eventually(async () => {
      const body = (await (await fetch(`${node.apiUrl}/readyz`)).json()) as { ready: boolean; checks: { shares: { message: string } } };
      if (!body.checks.shares.message.includes("refused")) throw new Error(body.checks.shares.message);
      return body;
    }, "refusal reported");
    expect(readiness.ready).toBe(true);
    expect(readiness.checks.shares.message).toMatch(/^3 validators; the latest shares were refused: .*shareIndex 1, but this node is operator 4/);
    expect(await (await fetch(`${node.apiUrl}/api/v1/eth2/publicKeys`)).json()).toEqual(pubkeys);
  });
});
