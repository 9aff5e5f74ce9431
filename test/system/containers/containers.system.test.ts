/**
 * The container suite: the project image run as production runs it (test/system/containers/
 * cluster.ts), a cluster of its containers on a Docker network, faults injected into them.
 * One file, so that the containers of the DKG are the ones that then run the nodes, and so that
 * the suite's own run time is printed once, at its end.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { verify } from "@chainsafe/blst";
import { AppsV1Api, CoordinationV1Api, KubernetesObjectApi } from "@kubernetes/client-node";
import { DOMAIN_BEACON_ATTESTER, ForkName } from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import { examples } from "../../../controller/api/examples.js";
import { type ClusterLock, readLockFile } from "../../../services/core/cluster/lock.js";
import { DEPOSIT_DATA_FILE, KEYS_DIR, LOCK_FILE, readKeyShares } from "../../../services/core/cluster/shares.js";
import { parsePublicKey, parseSignature, recoverSignature, signPartial } from "../../../services/core/crypto/index.js";
import { computeDomain, computeSigningRoot } from "../../../services/core/eth/domains.js";
import type { Network } from "../../../services/core/eth/networks.js";
import { fromHex, toHex } from "../../../services/core/hex.js";
import { BeaconDouble } from "../../doubles/beacon/double.js";
import { expectedDuties, networkOf, slashable, submittedAttestations, submittedBlocks, untilSlot } from "../../signer/chain.js";
import { createNamespace, installCrds, startCluster } from "../controller/cluster.js";
import { interopSecretScalar } from "../lodestar/interop.js";
import { freePort } from "../processes.js";
import { ContainerCluster, NEKTAR_UID, type NodeContainer, eventually } from "./cluster.js";
import { type DkgOutput, PASSWORD, dkgInContainers } from "./dkg.js";
import { API_PORT, DOUBLE_NETWORK, dealCluster, nodeReport, ready, slashingProtection, startNodes } from "./nodes.js";

// The beacon double's chain (test/doubles/beacon/double.ts): Altair from genesis.
const DOUBLE_GVR = new Uint8Array(32).fill(0x42);
const DOUBLE_ALTAIR = Uint8Array.of(1, 0, 0, 1);
const DOUBLE_FORK_INFO = { fork: { previous_version: "0x00000001", current_version: toHex(DOUBLE_ALTAIR), epoch: "0" }, genesis_validators_root: toHex(DOUBLE_GVR) };

/** An attestation at `slot` (of 8 per epoch), its roots filled with `rootByte`. */
function attestation(slot: number, rootByte: number): phase0.AttestationData {
  const target = Math.floor(slot / 8);
  return {
    slot,
    index: 0,
    beaconBlockRoot: new Uint8Array(32).fill(rootByte),
    source: { epoch: Math.max(0, target - 1), root: new Uint8Array(32).fill(1) },
    target: { epoch: target, root: new Uint8Array(32).fill(rootByte) },
  };
}

const suiteStart = Date.now();
let cluster: ContainerCluster | undefined;

beforeAll(async () => {
  cluster = await ContainerCluster.start();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  process.stdout.write(`container suite: ${((Date.now() - suiteStart) / 1000).toFixed(1)} s\n`);
}, 120_000);

function containers(): ContainerCluster {
  if (cluster === undefined) throw new Error("the container cluster did not start");
  return cluster;
}

describe("the image", () => {
  it("runs as uid 65532 with a read-only root filesystem, writing only its volume", async () => {
    const c = containers();
    const { exitCode, output } = await c.run("probe", ["identity", "create", "--out", "/var/lib/nektar/identity.key"]);
    expect({ exitCode, output }).toEqual({ exitCode: 0, output: expect.stringMatching(/peer id 16U/) });
    expect(statSync(join(c.volume("probe"), "identity.key")).uid).toBe(NEKTAR_UID);

    // Anywhere else on the root filesystem is refused.
    const refused = await c.run("probe", ["identity", "create", "--out", "/opt/nektar/identity.key"]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toMatch(/read-only file system|EROFS/i);
  }, 60_000);
});

describe("a DKG among 4 containers", () => {
  let dkg: DkgOutput;
  const locks: ClusterLock[] = [];

  it("makes a lock signed by all 4 and each operator's keystores, on its volume", async () => {
    dkg = await dkgInContainers(containers(), { operators: 4, validators: 2, forkVersion: toHex(DOUBLE_NETWORK.genesisForkVersion) });
    for (const [i, result] of dkg.results.entries()) expect(result.output).toMatch(new RegExp(`DKG complete: 2 validators, threshold 3 of 4, this operator holds share ${i + 1}`));
    for (let i = 0; i < 4; i++) {
      const out = dkg.outDir(i);
      expect(existsSync(join(out, DEPOSIT_DATA_FILE))).toBe(true);
      expect(readdirSync(join(out, KEYS_DIR)).sort()).toEqual(["keystore-0.json", "keystore-1.json"]);
      expect(statSync(join(out, LOCK_FILE)).uid).toBe(NEKTAR_UID);
      // Checks the operators' signatures, the public shares against each key, the deposit data.
      locks.push(await readLockFile(join(out, LOCK_FILE)));
    }
    expect(new Set(locks.map((l) => l.lockHash)).size).toBe(1);
    expect(locks[0]!.definition.operators.map((op) => op.peerId)).toEqual(dkg.peerIds);
  }, 300_000);

  it("gives keystores any 3 of which sign for each validator key of the lock", async () => {
    const lock = locks[0]!;
    const shares = await Promise.all([0, 1, 2, 3].map((i) => readKeyShares(join(dkg.outDir(i), KEYS_DIR), lock, i + 1, PASSWORD)));
    for (const [v, validator] of lock.validators.entries()) {
      const message = randomBytes(32);
      const pubkey = parsePublicKey(fromHex(validator.pubkey, "pubkey"), "pubkey");
      for (const signers of [[1, 2, 3], [0, 2, 3]]) {
        const partials = signers.map((i) => signPartial({ id: i + 1, value: shares[i]![v]! }, message));
        expect(verify(message, pubkey, recoverSignature(partials, 3))).toBe(true);
      }
    }
  }, 60_000);

  it("then runs `nektar node` in each operator's container on that output: the cluster signs for a validator client, and refuses a double vote", async () => {
    const c = containers();
    // Slots of 6 s: the remote-signing timeout (a third of a slot) holds on a loaded machine.
    // Genesis a slot ago: a node refuses requests for slots ahead of its clock.
    const beacon = await BeaconDouble.start({ slotMs: 6_000, genesisDelayMs: -6_000 });
    try {
      const forwarded = await c.forward({ host: "127.0.0.1", port: Number(new URL(beacon.url).port) });
      // The test is the validator client: the nodes do no duties of their own.
      const nodes = await startNodes(c, dkg.operators, { beaconUrl: `http://${forwarded.host}:${forwarded.port}`, validatorClient: false });
      await Promise.all(nodes.map((node) => eventually(() => ready(node), 120_000)));
      for (const node of nodes) {
        await eventually(async () => {
          const report = await nodeReport(node);
          if (report.connectedPeers !== 3) throw new Error(`${node.name}: ${report.connectedPeers} peers connected`);
        }, 60_000);
      }

      const validator = locks[0]!.validators[0]!;
      const sign = async (node: NodeContainer, data: phase0.AttestationData) =>
        fetch(`${await node.url(API_PORT)}/api/v1/eth2/sign/${validator.pubkey}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ type: "ATTESTATION", fork_info: DOUBLE_FORK_INFO, attestation: ssz.phase0.AttestationData.toJson(data) }),
        });
      // Nodes sign only near the chain's head.
      const slot = Math.max(0, beacon.currentSlot());
      const vote = attestation(slot, 0xa1);
      const signed = await sign(nodes[1]!, vote);
      const answer = (await signed.json()) as { signature: string };
      expect({ status: signed.status, answer }).toEqual({ status: 200, answer: { signature: expect.any(String) } });
      const { signature } = answer;
      const root = computeSigningRoot(ssz.phase0.AttestationData, vote, computeDomain(DOMAIN_BEACON_ATTESTER, DOUBLE_ALTAIR, DOUBLE_GVR));
      expect(verify(root, parsePublicKey(fromHex(validator.pubkey, "pubkey"), "pubkey"), parseSignature(fromHex(signature, "signature"), "signature"))).toBe(true);
      // Another vote for the same target, asked of another node: every node recorded the first.
      expect((await sign(nodes[2]!, attestation(slot, 0xa2))).status).toBe(412);
    } finally {
      await Promise.all(dkg.operators.map((op) => c.remove(op)));
      await beacon.stop();
    }
  }, 300_000);
});

describe("the controller image", () => {
  it("leads, reports ready on /readyz and reconciles an Operator against a real kube-apiserver; stops cleanly on SIGTERM", async () => {
    const c = containers();
    const kube = await startCluster();
    try {
      await installCrds(kube.kc);
      await createNamespace(kube.kc, "nektar-system");
      await createNamespace(kube.kc, "staking");
      // The API server listens on the host's loopback: the controller shares the host's network.
      const kubeconfig = c.writeFile("controller", "kubeconfig", readFileSync(kube.kube.kubeconfigPath, "utf8"));
      const port = await freePort();
      const image = process.env.NEKTAR_IMAGE!;
      const controller = await c.start(
        "controller",
        ["controller", "run", "--kubeconfig", kubeconfig, "--identity", "controller-0", "--node-image", image, "--probe-address", `127.0.0.1:${port}`],
        { networkMode: "host" },
      );

      const lease = await eventually(
        () => kube.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: "nektar-system", name: "nektar-controller" }),
        60_000,
      );
      expect(lease.spec?.holderIdentity).toBe("controller-0");
      // A leader is ready once its caches are synced.
      await eventually(async () => {
        const response = await fetch(`${await controller.url(port)}/readyz`);
        if (response.status !== 200) throw new Error(`/readyz: ${response.status} ${await response.text()}`);
      }, 60_000);

      await KubernetesObjectApi.makeApiClient(kube.kc).create({ ...examples.operator("op-1"), metadata: { name: "op-1", namespace: "staking" } });
      const statefulSet = await eventually(
        () => kube.kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ namespace: "staking", name: "op-1-node" }),
        60_000,
      );
      expect(statefulSet.spec?.template.spec?.containers[0]?.image).toBe(image);

      await controller.stop(30);
      expect(await controller.exitCode()).toBe(0);
    } finally {
      await kube.stop();
    }
  }, 240_000);
});

describe("16 operator containers, t = 11, under faults", () => {
  const N = 16;
  const VALIDATORS = [0, 1, 2];
  // Slots of 5 s and phase0 duties (attestations, aggregation, proposals): sixteen nodes and the
  // beacon double keep up on two shared cores.
  const SLOT_MS = 5_000;
  const SLOTS_PER_EPOCH = 4;
  /** How long after its slot's start a node may still complete a duty: an epoch. */
  const DEADLINE_MS = SLOT_MS * SLOTS_PER_EPOCH;
  let c: ContainerCluster;
  let double: BeaconDouble;
  let network: Network;
  let lock: ClusterLock;
  let nodes: NodeContainer[];
  const started = new Map<string, string>();

  beforeAll(async () => {
    c = await ContainerCluster.start();
    double = await BeaconDouble.start({ slotMs: SLOT_MS, slotsPerEpoch: SLOTS_PER_EPOCH, validators: 8, fork: ForkName.phase0 });
    network = await networkOf(double);
    ({ lock } = await dealCluster(c, { validatorSecrets: VALIDATORS.map(interopSecretScalar), operators: N, threshold: 11 }));
    const beacon = await c.forward({ host: "127.0.0.1", port: Number(new URL(double.url).port) });
    nodes = await startNodes(c, lock.definition.operators.map((op) => op.name), { beaconUrl: `http://${beacon.host}:${beacon.port}`, validatorClient: true });
    await Promise.all(nodes.map((node) => eventually(() => connected(node), 180_000)));
    for (const node of nodes) started.set(node.name, await node.startedAt());
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
    await double?.stop();
  }, 120_000);

  async function connected(node: NodeContainer): Promise<void> {
    const report = await nodeReport(node);
    if (report.connectedPeers !== N - 1) throw new Error(`${node.name}: ${report.connectedPeers} peers connected`);
  }

  /** The next whole epoch's slots [from, to), once the cluster is past its genesis epoch. */
  function nextEpoch(): [number, number] {
    const from = Math.max(SLOTS_PER_EPOCH, (Math.floor(double.currentSlot() / SLOTS_PER_EPOCH) + 1) * SLOTS_PER_EPOCH);
    return [from, from + SLOTS_PER_EPOCH];
  }

  /** The duties of [from, to) and those the beacon node received, signed by the validator's key. */
  function duties(from: number, to: number) {
    const expected = expectedDuties(double, VALIDATORS, from, to);
    const attestations = submittedAttestations(double, network);
    const blocks = submittedBlocks(double, network);
    return {
      expected,
      attested: expected.attestations.filter((d) => attestations.some((a) => a.validator === d.validator && a.data.slot === d.slot && a.valid)),
      proposed: expected.blocks.filter((d) => blocks.some((b) => b.validator === d.validator && b.slot === d.slot && b.valid)),
    };
  }

  /** Waits until every duty of the next epoch is done, until their deadline at most. */
  async function everyDutyOfNextEpoch(): Promise<void> {
    const [from, to] = nextEpoch();
    await eventually(async () => {
      const { expected, attested, proposed } = duties(from, to);
      if (attested.length < expected.attestations.length || proposed.length < expected.blocks.length || double.currentSlot() < to) {
        throw new Error(`slots ${from}-${to - 1}: ${attested.length}/${expected.attestations.length} attestations, ${proposed.length}/${expected.blocks.length} blocks`);
      }
    }, double.slotStartMs(to) + DEADLINE_MS - Date.now());
  }

  const node = (name: string) => nodes.find((n) => n.name === name)!;

  it("does every duty with 5 containers killed, stopped or cut off", async () => {
    await Promise.all([node("op-15").kill(), node("op-14").kill(), node("op-13").stop(), node("op-12").disconnect(), node("op-11").disconnect()]);
    await everyDutyOfNextEpoch();
  }, 120_000);

  it("does no duty with a 6th paused, and heals without restarting the others", async () => {
    await node("op-10").pause();
    const [from, to] = nextEpoch();
    await untilSlot(double, to);
    // Ten partial signatures exist for each duty, eleven are needed: nothing can be recovered.
    const stalled = duties(from, to);
    expect(stalled.expected.attestations.length).toBe(3);
    expect(stalled.attested).toEqual([]);
    expect(stalled.proposed).toEqual([]);

    await Promise.all([node("op-10").unpause(), node("op-11").reconnect(), node("op-12").reconnect(), node("op-13").start(), node("op-14").start(), node("op-15").start()]);
    await everyDutyOfNextEpoch();
    for (const name of ["op-0", "op-1", "op-2", "op-3", "op-4", "op-5", "op-6", "op-7", "op-8", "op-9", "op-10", "op-11", "op-12"]) {
      expect(await node(name).startedAt()).toBe(started.get(name));
    }
  }, 180_000);

  it("keeps the slashing protection of a container killed during a duty, which rejoins when restarted", async () => {
    const victim = node("op-3");
    const pubkey = lock.validators[0]!.pubkey;
    const targets = async () => (await slashingProtection(victim, pubkey)).data[0]?.signed_attestations.map((a) => `${a.target_epoch}:${a.signing_root}`) ?? [];
    const before = await targets();
    // Killed the moment it has recorded a new vote: it has signed its partial, the duty is under way.
    const signed = await eventually(async () => {
      const now = await targets();
      if (now.length === before.length) throw new Error("no new vote yet");
      return now;
    }, 4 * DEADLINE_MS, 50);
    await victim.kill();
    await victim.start();
    await eventually(() => connected(victim), 120_000);
    expect(await targets()).toEqual(expect.arrayContaining(signed));
    // It signs again: a later duty of its own.
    const restartedAt = double.currentSlot();
    await eventually(async () => {
      const lastDuty = (await nodeReport(victim)).keyShares.map((s) => s.lastDuty?.slot ?? -1);
      if (Math.max(...lastDuty) <= restartedAt) throw new Error(`op-3's last duty: slot ${Math.max(...lastDuty)}`);
    }, 2 * DEADLINE_MS);
  }, 180_000);

  it("never signed anything slashable: in what the beacon node received, or in any node's record", async () => {
    const attestations = submittedAttestations(double, network);
    const blocks = submittedBlocks(double, network);
    expect(attestations.length).toBeGreaterThan(0);
    expect([...attestations, ...blocks].every((s) => s.valid)).toBe(true);
    expect(
      slashable(
        attestations.map((a) => ({ validator: a.validator, source: a.data.source.epoch, target: a.data.target.epoch, root: a.dataRoot })),
        blocks.map((b) => ({ validator: b.validator, slot: b.slot, root: b.root })),
      ),
    ).toEqual([]);
    for (const n of nodes) {
      const records = await Promise.all(lock.validators.map((v) => slashingProtection(n, v.pubkey)));
      const votes = records.flatMap((r, v) => (r.data[0]?.signed_attestations ?? []).map((a) => ({ validator: v, source: Number(a.source_epoch), target: Number(a.target_epoch), root: a.signing_root ?? "" })));
      const signedBlocks = records.flatMap((r, v) => (r.data[0]?.signed_blocks ?? []).map((b) => ({ validator: v, slot: Number(b.slot), root: b.signing_root ?? "" })));
      expect(votes.length).toBeGreaterThan(0);
      expect(slashable(votes, signedBlocks)).toEqual([]);
    }
  }, 60_000);
});
