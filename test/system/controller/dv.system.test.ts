import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type ApiException,
  type V1Pod,
} from "@kubernetes/client-node";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { examples } from "../../../controller/api/examples.js";
import type { DistributedValidator, KeyShare } from "../../../controller/api/v1alpha1.js";
import { parseLock } from "../../../services/core/cluster/lock.js";
import { lockFileName, parseManifest } from "../../../services/core/cluster/manifest.js";
import { decryptKeystore, parseKeystore, parseSecretKey } from "../../../services/core/crypto/index.js";
import { toHex } from "../../../services/core/hex.js";
import { generateIdentity } from "../../../services/core/p2p/identity.js";
import { freePort } from "../processes.js";
import { eventually, startControllerCluster, type TestCluster } from "./cluster.js";
import { LocalPod } from "./pod/kubelet.js";

const NS = "dv";
const OPERATORS = ["op-1", "op-2", "op-3", "op-4"];
const VALIDATORS = 2;

describe("the controller running a DistributedValidator's DKG on a real API server", () => {
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  const pods: LocalPod[] = [];
  const dir = mkdtempSync(join(tmpdir(), "nektar-dkg-pods-"));

  beforeAll(async () => {
    cluster = await startControllerCluster(NS, { identity: "dv", dkgPort: await freePort() });
    objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    core = cluster.kc.makeApiClient(CoreV1Api);
    batch = cluster.kc.makeApiClient(BatchV1Api);
    // Each operator's identity, as `nektar identity create` writes it.
    for (const name of OPERATORS) {
      await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: `${name}-identity` }, stringData: { "identity.key": `${toHex(generateIdentity().privateKey.raw)}\n` } } });
    }
  }, 120_000);
  afterAll(async () => {
    for (const pod of pods) pod.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const read = () => objects.read<DistributedValidator>({ apiVersion: "nektar.network/v1alpha1", kind: "DistributedValidator", metadata: { name: "dv-1", namespace: NS } });
  const condition = (o: DistributedValidator, type: string) => o.status?.conditions?.find((c) => c.type === type);

  it("waits, Pending, for operators that do not exist yet", async () => {
    await objects.create({ ...examples.operator("op-1"), metadata: { name: "op-1", namespace: NS } });
    const dv = examples.distributedValidator("dv-1", OPERATORS);
    await objects.create({ ...dv, metadata: { name: "dv-1", namespace: NS }, spec: { ...dv.spec, validators: VALIDATORS } });
    await eventually(async () => {
      const dv = await read();
      expect(dv.status?.phase).toBe("Pending");
      expect(condition(dv, "Degraded")).toMatchObject({ status: "True", reason: "OperatorNotFound" });
      expect(condition(dv, "Degraded")?.message).toMatch(/op-2, op-3, op-4/);
    });
  });

  it("waits for an operator's address, which the cluster definition names", async () => {
    const { address: _, ...spec } = examples.operator("op-2").spec;
    await objects.create({ ...examples.operator("op-2"), metadata: { name: "op-2", namespace: NS }, spec });
    for (const name of OPERATORS.slice(2)) await objects.create({ ...examples.operator(name), metadata: { name, namespace: NS } });
    await eventually(async () => {
      const dv = await read();
      expect(dv.status?.phase).toBe("Pending");
      expect(condition(dv, "Degraded")).toMatchObject({ status: "True", reason: "OperatorAddressMissing", message: expect.stringMatching(/op-2 have no spec.address/) });
    });
  });

  it("runs one DKG Job per operator, with that operator's identity, from a definition every operator signed, and reports Running", async () => {
    await objects.patch(
      { apiVersion: "nektar.network/v1alpha1", kind: "Operator", metadata: { name: "op-2", namespace: NS }, spec: { address: examples.operator("op-2").spec.address } },
      undefined, undefined, "test", undefined, PatchStrategy.MergePatch,
    );
    await eventually(async () => {
      const jobs = await batch.listNamespacedJob({ namespace: NS });
      expect(jobs.items.map((j) => j.metadata?.name).sort()).toEqual(["dv-1-dkg-1", "dv-1-dkg-2", "dv-1-dkg-3", "dv-1-dkg-4"]);
      const third = jobs.items.find((j) => j.metadata?.name === "dv-1-dkg-3")!.spec!.template.spec!;
      expect(third.volumes).toContainEqual({ name: "identity", secret: { secretName: "op-3-identity", defaultMode: 0o400 } });
      expect(third.initContainers?.[0]?.args?.slice(0, 1)).toEqual(["dkg"]);
      expect(third.containers[0]?.args).toEqual(expect.arrayContaining(["publish-dkg-output", "--secret", "dv-1-dkg-output-3"]));
      expect(third.serviceAccountName).toBe("dv-1-dkg");
      const dv = await read();
      expect(dv.status?.phase).toBe("Running");
      expect(condition(dv, "Progressing")).toMatchObject({ status: "True", reason: "DkgRunning", message: "0/4 operators finished the DKG" });
    });
    const definition = JSON.parse((await core.readNamespacedConfigMap({ namespace: NS, name: "dv-1-dkg" })).data!["definition.json"]!) as { operators: { name: string; signature?: string }[] };
    expect(definition.operators.map((o) => [o.name, o.signature !== undefined])).toEqual(OPERATORS.map((name) => [name, true]));
  });

  it("lets the DKG Jobs create their output Secrets, and nothing else", async () => {
    const can = async (verb: string, resource: string) =>
      (await cluster.kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({ body: { spec: { user: `system:serviceaccount:${NS}:dv-1-dkg`, resourceAttributes: { verb, resource, namespace: NS } } } })).status?.allowed;
    await eventually(async () => expect(await can("create", "secrets")).toBe(true));
    expect(await can("get", "secrets")).toBe(false);
    expect(await can("create", "configmaps")).toBe(false);
  });

  it("runs the real `nektar dkg` from the Jobs' pods, and makes the KeyShares, cluster lock and deposit data of their outputs", async () => {
    // The pods the Job controller made, as the kubelet would get them.
    const specs = await eventually(async () => {
      const list = await core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/instance=dv-1" });
      if (list.items.length < OPERATORS.length) throw new Error(`${list.items.length} DKG pods`);
      return list.items;
    });
    // Their DNS names exist because a headless Service named as their subdomain selects them.
    const service = await core.readNamespacedService({ namespace: NS, name: "dv-1-dkg" });
    expect(service.spec?.clusterIP).toBe("None");
    const hosts: Record<string, string> = {};
    const ips = new Map<V1Pod, string>();
    specs.forEach((pod, i) => {
      expect(pod.spec?.subdomain).toBe(service.metadata?.name);
      expect(pod.metadata?.labels).toMatchObject(service.spec!.selector!);
      ips.set(pod, `127.11.0.${i + 1}`);
      hosts[`${pod.spec!.hostname}.${pod.spec!.subdomain}.${NS}.svc`] = ips.get(pod)!;
    });
    for (const pod of specs) pods.push(new LocalPod(cluster.kc, pod, { dir, ip: ips.get(pod)!, hosts }));
    for (const pod of pods) await pod.materialize();

    // The DKG, every operator at once, as four pods would run it.
    const dkg = await Promise.all(pods.map((pod) => pod.run("dkg", { timeoutMs: 240_000 })));
    for (const [i, exit] of dkg.entries()) expect({ pod: pods[i]!.name, code: exit.code, output: exit.output.slice(-2000) }).toMatchObject({ code: 0 });

    // Publication, as the pod's ServiceAccount: the token the kubelet mounted (client-node looks for
    // it under /var/run/secrets, which a local process cannot have, so it goes in a kubeconfig).
    for (const pod of pods) {
      const mount = pod.pod.spec!.containers[0]!.volumeMounts!.find((m) => m.mountPath === "/var/run/secrets/kubernetes.io/serviceaccount")!;
      const asPod = new KubeConfig();
      asPod.loadFromOptions({
        clusters: cluster.kc.clusters,
        users: [{ name: "pod", token: readFileSync(join(pod.volumeDir(mount.name), "token"), "utf8") }],
        contexts: [{ name: "pod", cluster: cluster.kc.getCurrentCluster()!.name, user: "pod" }],
        currentContext: "pod",
      });
      const kubeconfig = join(dir, `${pod.name}.kubeconfig`);
      writeFileSync(kubeconfig, asPod.exportConfig());
      const exit = await pod.run("publish", { env: { KUBECONFIG: kubeconfig }, timeoutMs: 60_000 });
      expect({ pod: pod.name, code: exit.code, output: exit.output.slice(-2000) }).toMatchObject({ code: 0 });
    }
    // Each pod exits 0, which the kubelet reports as its phase.
    const now = new Date().toISOString();
    for (const pod of specs) {
      await core.patchNamespacedPodStatus(
        {
          namespace: NS,
          name: pod.metadata!.name!,
          body: { status: { phase: "Succeeded", conditions: [{ type: "Ready", status: "False", lastTransitionTime: now, reason: "PodCompleted" }], containerStatuses: [{ name: "publish", image: "x", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now } } }] } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    }

    const output = await core.readNamespacedSecret({ namespace: NS, name: "dv-1-dkg-output-3" });
    const lockText = Buffer.from(output.data!["cluster-lock.json"]!, "base64").toString();
    const lock = await parseLock(JSON.parse(lockText), "output lock");
    expect(output.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "DistributedValidator", name: "dv-1" });
    await eventually(async () => {
      const dv = await read();
      expect(dv.status).toMatchObject({ phase: "Succeeded", lockHash: lock.lockHash, validatorPubkeys: lock.validators.map((v) => v.pubkey), depositDataConfigMap: "dv-1-deposit-data" });
      expect(condition(dv, "Ready")).toMatchObject({ status: "True", reason: "KeySharesCreated" });
    }, 60_000);

    const keyShares = await objects.list<KeyShare>("nektar.network/v1alpha1", "KeyShare", NS);
    expect(keyShares.items).toHaveLength(OPERATORS.length * VALIDATORS);
    const share = keyShares.items.find((ks) => ks.metadata?.name === "dv-1-v1-s3")!;
    expect(share.spec).toMatchObject({
      operatorRef: { name: "op-3" },
      validatorPubkey: lock.validators[1]!.pubkey,
      shareIndex: 3,
      threshold: 3,
      totalShares: 4,
      publicShares: lock.validators[1]!.publicShares,
      keystoreSecretRef: { name: "dv-1-dkg-output-3", keystoreKey: "keystore-1.json" },
      clusterLockConfigMapRef: { name: "dv-1-cluster-lock" },
    });
    expect(share.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "DistributedValidator", name: "dv-1" });
    expect((await core.readNamespacedConfigMap({ namespace: NS, name: "dv-1-cluster-lock" })).data?.["cluster-lock.json"]).toBe(lockText);
    const depositData = JSON.parse((await core.readNamespacedConfigMap({ namespace: NS, name: "dv-1-deposit-data" })).data!["deposit_data.json"]!) as { pubkey: string }[];
    expect(depositData.map((d) => `0x${d.pubkey}`)).toEqual(lock.validators.map((v) => v.pubkey));

    // The shares reach their operators' nodes with their lock, in the manifest the node reads; op-3's keystores hold share 3.
    const secret = await eventually(async () => {
      const s = await core.readNamespacedSecret({ namespace: NS, name: "op-3-keyshares" });
      expect(Object.keys(s.data ?? {}).filter((k) => k.endsWith(".keystore.json")).sort()).toEqual(["dv-1-v0-s3.keystore.json", "dv-1-v1-s3.keystore.json"]);
      return s;
    }, 30_000);
    const file = (key: string) => Buffer.from(secret.data![key]!, "base64").toString();
    const manifest = parseManifest(JSON.parse(file("keyshares.json")), "op-3's keyshares.json");
    expect(manifest.map((e) => e.clusterLockFile)).toEqual([lockFileName(lock.lockHash), lockFileName(lock.lockHash)]);
    expect(file(lockFileName(lock.lockHash))).toBe(lockText);
    const entry = manifest.find((e) => e.name === "dv-1-v1-s3")!;
    const secretShare = await decryptKeystore(parseKeystore(JSON.parse(file(entry.keystoreFile))), file(entry.passwordFile), entry.keystoreFile);
    expect(toHex(parseSecretKey(secretShare, "share").toPublicKey().toBytes())).toBe(lock.validators[1]!.publicShares[2]);
  }, 420_000);

  it("refuses a change of its spec", async () => {
    const error = await objects
      .patch({ apiVersion: "nektar.network/v1alpha1", kind: "DistributedValidator", metadata: { name: "dv-1", namespace: NS }, spec: { validators: 3 } } as DistributedValidator, undefined, undefined, "test", undefined, PatchStrategy.MergePatch)
      .catch((e: unknown) => e);
    expect((error as ApiException<string>).body).toMatch(/spec is immutable/);
  });
});
