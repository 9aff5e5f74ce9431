import { describe, expect, it } from "@jest/globals";
import { lockFileName, parseManifest } from "../../services/core/cluster/manifest.js";
import { examples } from "../api/examples.js";
import { keySharesSecret, MANIFEST_KEY } from "./keyshares.js";

const operator = { ...examples.operator("op-1"), metadata: { name: "op-1", namespace: "staking", uid: "u-1" } };
const lockA = { lockHash: `0x${"ab".repeat(32)}`, text: '{"lock":"a"}' };
const lockB = { lockHash: `0x${"cd".repeat(32)}`, text: '{"lock":"b"}' };
const loaded = (name: string, index: number, validator: number, clusterLock = lockA) => ({
  keyShare: examples.keyShare(name, "op-1", index, validator),
  keystore: Buffer.from(`{"keystore":"${name}"}`),
  password: Buffer.from(`password of ${name}`),
  clusterLock,
});
const read = (data: Record<string, string>, key: string) => Buffer.from(data[key]!, "base64").toString();

describe("keySharesSecret", () => {
  it("holds each share's keystore, password and cluster lock and a manifest the node accepts, in name order whatever the input order", () => {
    const secret = keySharesSecret(operator, [loaded("ks-b", 2, 2), loaded("ks-c", 3, 3, lockB), loaded("ks-a", 1, 1)]);
    expect(secret.metadata?.name).toBe("op-1-keyshares");
    const data = secret.data!;
    expect(read(data, "ks-a.password")).toBe("password of ks-a");
    // The node's own check of the manifest (contract 3).
    const manifest = parseManifest(JSON.parse(read(data, MANIFEST_KEY)), "keyshares.json");
    expect(manifest.map((e) => [e.name, e.shareIndex, e.keystoreFile, e.clusterLockFile])).toEqual([
      ["ks-a", 1, "ks-a.keystore.json", lockFileName(lockA.lockHash)],
      ["ks-b", 2, "ks-b.keystore.json", lockFileName(lockA.lockHash)],
      ["ks-c", 3, "ks-c.keystore.json", lockFileName(lockB.lockHash)],
    ]);
    // Every file the manifest names is in the Secret; each lock once.
    for (const e of manifest) for (const file of [e.keystoreFile, e.passwordFile, e.clusterLockFile]) expect(data[file]).toBeDefined();
    expect(read(data, "cluster-lock-abababababababab.json")).toBe(lockA.text);
    expect(Object.keys(data).filter((k) => k.startsWith("cluster-lock-"))).toHaveLength(2);
    expect(keySharesSecret(operator, [loaded("ks-a", 1, 1), loaded("ks-c", 3, 3, lockB), loaded("ks-b", 2, 2)])).toEqual(secret);
  });

  it("gives a node one share of a validator: a second KeyShare of it is left out", () => {
    const secret = keySharesSecret(operator, [loaded("ks-b", 2, 1), loaded("ks-a", 1, 1)]);
    const manifest = parseManifest(JSON.parse(read(secret.data!, MANIFEST_KEY)), "keyshares.json");
    expect(manifest.map((e) => e.name)).toEqual(["ks-a"]);
    expect(secret.data!["ks-b.keystore.json"]).toBeUndefined();
  });

  it("is an empty manifest without shares", () => {
    expect(read(keySharesSecret(operator, []).data!, MANIFEST_KEY)).toBe("[]\n");
  });
});
