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
import { AppsV1Api, CoordinationV1Api, KubernetesObjectApi } from "@kubernetes/client-node";
import { examples } from "../../../controller/api/examples.js";
import { join } from "node:path";
import { type ClusterLock, readLockFile } from "../../../services/core/cluster/lock.js";
import { KEYS_DIR, LOCK_FILE, DEPOSIT_DATA_FILE, readKeyShares } from "../../../services/core/cluster/shares.js";
import { parsePublicKey, recoverSignature, signPartial } from "../../../services/core/crypto/index.js";
import { fromHex } from "../../../services/core/hex.js";
import { createNamespace, installCrds, startCluster } from "../controller/cluster.js";
import { freePort } from "../processes.js";
import { ContainerCluster, NEKTAR_UID, eventually } from "./cluster.js";
import { type DkgOutput, PASSWORD, dkgInContainers } from "./dkg.js";

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
    dkg = await dkgInContainers(containers(), { operators: 4, validators: 2 });
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
