import { describe, expect, it } from "@jest/globals";
import { examples, pubkey } from "../api/examples.js";
import { dkgJobs, dkgKeyShares } from "./dkg.js";

const dv = { ...examples.distributedValidator("dv-1", ["a", "b", "c", "d"]), metadata: { name: "dv-1", namespace: "staking", uid: "u-1" } };

describe("DKG resources", () => {
  it("gives share i of every validator to operators[i-1], its keystore in that operator's output Secret", () => {
    const lock = { lockHash: `0x${"00".repeat(32)}`, validators: [0, 1].map((v) => ({ pubkey: pubkey(v + 1), publicShares: [1, 2, 3, 4].map((i) => pubkey(10 * v + i)) })) };
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
    expect(shares[5]?.spec).toMatchObject({ threshold: 3, totalShares: 4, validatorPubkey: pubkey(2), keystoreSecretRef: { name: "dv-1-dkg-output-2" } });
  });

  it("runs one Job per operator with its identity and share index", () => {
    const jobs = dkgJobs(dv, ["a-id", "b-id", "c-id", "d-id"], { defaultImage: "nektar:1" });
    expect(jobs.map((j) => j.metadata?.name)).toEqual(["dv-1-dkg-1", "dv-1-dkg-2", "dv-1-dkg-3", "dv-1-dkg-4"]);
    expect(jobs[1]?.spec?.template.spec?.volumes).toContainEqual({ name: "identity", secret: { secretName: "b-id", defaultMode: 0o400 } });
    expect(jobs[1]?.spec?.template.spec?.containers[0]?.args).toEqual(expect.arrayContaining(["--share-index", "2", "--output-secret", "dv-1-dkg-output-2"]));
  });
});
