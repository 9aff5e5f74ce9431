import { describe, expect, it } from "@jest/globals";
import { assertFullySigned, parseDefinition, signDefinition } from "../../services/core/p2p/definition.js";
import { generateIdentity } from "../../services/core/p2p/identity.js";
import { examples, pubkey } from "../api/examples.js";
import { DKG_PATHS, dkgDefinition, dkgJobs, dkgKeyShares, dkgOutputSecret, dkgPasswordsSecret, dkgService } from "./dkg.js";

const OPERATORS = ["a", "b", "c", "d"];
const dv = { ...examples.distributedValidator("dv-1", OPERATORS), metadata: { name: "dv-1", namespace: "staking", uid: "0b6c1a52-3f1e-4e1d-9c1a-5d2f6a7b8c9d" } };
const options = { defaultImage: "nektar:1", dkgPort: 9100 };

describe("DKG resources", () => {
  it("gives share i of every validator to operators[i-1], its keystore in that operator's output Secret, the lock in the DV's ConfigMap", () => {
    const lock = { validators: [0, 1].map((v) => ({ pubkey: pubkey(v + 1), publicShares: [1, 2, 3, 4].map((i) => pubkey(10 * v + i)) })) };
    const shares = dkgKeyShares(dv, lock);
    expect(shares.map((ks) => [ks.metadata?.name, ks.spec.operatorRef.name, ks.spec.shareIndex, ks.spec.keystoreSecretRef.keystoreKey])).toEqual([
      ["dv-1-v0-s1", "a", 1, "keystore-0.json"],
      ["dv-1-v0-s2", "b", 2, "keystore-0.json"],
      ["dv-1-v0-s3", "c", 3, "keystore-0.json"],
      ["dv-1-v0-s4", "d", 4, "keystore-0.json"],
      ["dv-1-v1-s1", "a", 1, "keystore-1.json"],
      ["dv-1-v1-s2", "b", 2, "keystore-1.json"],
      ["dv-1-v1-s3", "c", 3, "keystore-1.json"],
      ["dv-1-v1-s4", "d", 4, "keystore-1.json"],
    ]);
    expect(shares[5]?.spec).toMatchObject({
      threshold: 3,
      totalShares: 4,
      validatorPubkey: pubkey(2),
      publicShares: lock.validators[1]!.publicShares,
      keystoreSecretRef: { name: "dv-1-dkg-output-2", passwordKey: "password.txt" },
      clusterLockConfigMapRef: { name: "dv-1-cluster-lock" },
    });
  });

  it("writes one definition for a DV and its operators, which every operator's identity signs", async () => {
    const identities = OPERATORS.map(() => generateIdentity());
    const operators = OPERATORS.map((name, i) => ({ name, address: examples.operator(name).spec.address!, peerId: identities[i]!.peerId.toString() }));
    const definition = dkgDefinition(dv, operators, 9100);
    expect(dkgDefinition(dv, operators, 9100)).toEqual(definition);
    expect(definition).toMatchObject({ uuid: dv.metadata.uid, name: "dv-1", forkVersion: "0x10000910", threshold: 3, numValidators: 1 });
    expect(definition.operators.map((op) => op.multiaddrs)).toEqual([1, 2, 3, 4].map((i) => [`/dns4/dv-1-dkg-${i}.dv-1-dkg.staking.svc/tcp/9100`]));

    let signed = definition;
    for (const identity of identities) signed = await signDefinition(signed, identity);
    assertFullySigned(parseDefinition(JSON.parse(JSON.stringify(signed)), "signed"), "signed");
    // Deterministic signatures: a reconcile rewrites the same ConfigMap.
    expect(await signDefinition(definition, identities[0]!)).toEqual(await signDefinition(definition, identities[0]!));
  });

  it("refuses a definition the DKG would refuse, naming the field", () => {
    const operators = OPERATORS.map((name) => ({ name, address: `0x${"00".repeat(20)}`, peerId: generateIdentity().peerId.toString() }));
    expect(() => dkgDefinition(dv, operators, 9100)).toThrow(/DistributedValidator dv-1: cluster definition: operators\/0\/address: the zero address/);
  });

  it("runs one Job per operator: nektar dkg with its identity under its pod's DNS name, then the publication of its output", () => {
    const jobs = dkgJobs(dv, ["a-id", "b-id", "c-id", "d-id"], options);
    expect(jobs.map((j) => j.metadata?.name)).toEqual(["dv-1-dkg-1", "dv-1-dkg-2", "dv-1-dkg-3", "dv-1-dkg-4"]);
    const pod = jobs[1]!.spec!.template.spec!;
    expect([pod.hostname, pod.subdomain, pod.serviceAccountName]).toEqual(["dv-1-dkg-2", "dv-1-dkg", "dv-1-dkg"]);
    expect(pod.initContainers?.[0]?.args).toEqual(["dkg", "--definition", DKG_PATHS.definition, "--identity", DKG_PATHS.identity, "--password-file", DKG_PATHS.password, "--out", DKG_PATHS.output]);
    expect(pod.containers[0]?.args).toEqual(expect.arrayContaining(["publish-dkg-output", "--secret", "dv-1-dkg-output-2", "--namespace", "staking", "--owner", `dv-1/${dv.metadata.uid}`]));
    expect(pod.volumes).toContainEqual({ name: "identity", secret: { secretName: "b-id", defaultMode: 0o400 } });
    expect(pod.volumes).toContainEqual({ name: "password", secret: { secretName: "dv-1-dkg-passwords", defaultMode: 0o400, items: [{ key: "operator-2", path: "password.txt" }] } });
    expect(pod.volumes).toContainEqual({ name: "output", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } });
    // The headless Service that gives those DNS names selects exactly these pods.
    expect(dkgService(dv, 9100).spec?.selector).toEqual(Object.fromEntries(Object.entries(jobs[1]!.spec!.template.metadata!.labels!).filter(([k]) => k !== "nektar.network/operator")));
  });

  it("derives a password per operator and DV from the operator's identity", () => {
    const secrets = OPERATORS.map((_, i) => new Uint8Array(32).fill(i + 1));
    const passwords = dkgPasswordsSecret(dv, secrets).data!;
    expect(Object.keys(passwords)).toEqual(["operator-1", "operator-2", "operator-3", "operator-4"]);
    expect(new Set(Object.values(passwords)).size).toBe(4);
    expect(dkgPasswordsSecret(dv, secrets).data).toEqual(passwords);
    const other = dkgPasswordsSecret({ ...dv, metadata: { ...dv.metadata, uid: "another" } }, secrets).data!;
    expect(other["operator-1"]).not.toEqual(passwords["operator-1"]);
  });

  it("publishes an output under the names the KeyShares read, owned by the DV", () => {
    const secret = dkgOutputSecret({ name: "dv-1", uid: dv.metadata.uid, namespace: "staking" }, "dv-1-dkg-output-2", { lock: "L", depositData: "D", password: "P", keystores: ["K0", "K1"] });
    expect(secret.stringData).toEqual({ "cluster-lock.json": "L", "deposit_data.json": "D", "password.txt": "P", "keystore-0.json": "K0", "keystore-1.json": "K1" });
    expect(secret.metadata?.ownerReferences).toEqual([{ apiVersion: "nektar.network/v1alpha1", kind: "DistributedValidator", name: "dv-1", uid: dv.metadata.uid, controller: true }]);
    expect(secret.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "nektar-controller", "app.kubernetes.io/instance": "dv-1" });
  });
});
