import { describe, expect, it } from "@jest/globals";
import { examples } from "../api/examples.js";
import { keySharesSecret, MANIFEST_KEY, type KeyShareManifestEntry } from "./keyshares.js";

const operator = { ...examples.operator("op-1"), metadata: { name: "op-1", namespace: "staking", uid: "u-1" } };
const loaded = (name: string, index: number) => ({
  keyShare: examples.keyShare(name, "op-1", index),
  keystore: Buffer.from(`{"keystore":"${name}"}`),
  password: Buffer.from(`password of ${name}`),
});

describe("keySharesSecret", () => {
  it("holds each share's keystore and password and a manifest, in name order whatever the input order", () => {
    const secret = keySharesSecret(operator, [loaded("ks-b", 2), loaded("ks-a", 1)]);
    expect(secret.metadata?.name).toBe("op-1-keyshares");
    expect(Buffer.from(secret.data!["ks-a.password"]!, "base64").toString()).toBe("password of ks-a");
    const manifest = JSON.parse(Buffer.from(secret.data![MANIFEST_KEY]!, "base64").toString()) as KeyShareManifestEntry[];
    expect(manifest.map((e) => [e.name, e.shareIndex, e.keystoreFile])).toEqual([
      ["ks-a", 1, "ks-a.keystore.json"],
      ["ks-b", 2, "ks-b.keystore.json"],
    ]);
    expect(keySharesSecret(operator, [loaded("ks-a", 1), loaded("ks-b", 2)])).toEqual(secret);
  });

  it("is an empty manifest without shares", () => {
    expect(Buffer.from(keySharesSecret(operator, []).data![MANIFEST_KEY]!, "base64").toString()).toBe("[]\n");
  });
});
