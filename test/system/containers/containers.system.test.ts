/**
 * The container suite: the project image run as production runs it (test/system/containers/
 * cluster.ts), a cluster of its containers on a Docker network, faults injected into them.
 * One file, so that the containers of the DKG are the ones that then run the nodes, and so that
 * the suite's own run time is printed once, at its end.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { verify } from "@chainsafe/blst";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { DOMAIN_BEACON_ATTESTER } from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import { AppsV1Api, CoordinationV1Api, KubernetesObjectApi } from "@kubernetes/client-node";
import { examples } from "../../../controller/api/examples.js";
import { join } from "node:path";
import { type ClusterLock, readLockFile } from "../../../services/core/cluster/lock.js";
import { KEYS_DIR, LOCK_FILE, DEPOSIT_DATA_FILE, readKeyShares } from "../../../services/core/cluster/shares.js";
import { parsePublicKey, parseSignature, recoverSignature, signPartial } from "../../../services/core/crypto/index.js";
import { computeDomain, computeSigningRoot } from "../../../services/core/eth/domains.js";
import { fromHex, toHex } from "../../../services/core/hex.js";
import { createNamespace, installCrds, startCluster } from "../controller/cluster.js";
import { freePort } from "../processes.js";
import { BeaconDouble } from "../../doubles/beacon/double.js";
import { ContainerCluster, NEKTAR_UID, type NodeContainer, eventually } from "./cluster.js";
import { type DkgOutput, PASSWORD, dkgInContainers } from "./dkg.js";
import { API_PORT, DOUBLE_NETWORK, nodeReport, ready, startNodes } from "./nodes.js";

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
    const beacon = await BeaconDouble.start({ slotMs: 6_000 });
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
