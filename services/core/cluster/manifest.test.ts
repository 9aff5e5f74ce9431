import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { type KeyShareEntry, lockFileName, parseManifest, readManifestFile } from "./manifest.js";

const pk = (byte: string) => `0x${byte.repeat(48)}`;

function entry(overrides: Partial<KeyShareEntry> = {}): KeyShareEntry {
  return {
    name: "dv-0-share-2",
    validatorPubkey: pk("aa"),
    shareIndex: 2,
    threshold: 3,
    publicShares: [pk("01"), pk("02"), pk("03"), pk("04")],
    keystoreFile: "dv-0-share-2.keystore.json",
    passwordFile: "dv-0-share-2.password",
    clusterLockFile: lockFileName("0x0123456789abcdef0011"),
    ...overrides,
  };
}

describe("key-shares manifest", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("accepts what the controller writes", () => {
    const manifest = [entry(), entry({ name: "dv-1-share-2", validatorPubkey: pk("bb") })];
    expect(parseManifest(manifest, "m")).toEqual(manifest);
    expect(parseManifest([], "m")).toEqual([]);
  });

  it("names the lock file by the first 16 hex of the lock hash", () => {
    expect(lockFileName(`0x${"0123456789abcdef".repeat(4)}`)).toBe("cluster-lock-0123456789abcdef.json");
  });

  it.each([
    ["a missing field", { keystoreFile: undefined }, /\/0\/keystoreFile/],
    ["a file outside the folder", { passwordFile: "../etc/passwd" }, /\/0\/passwordFile/],
    ["a hidden file (the kubelet's ..data)", { keystoreFile: "..data" }, /\/0\/keystoreFile/],
    ["an uppercase key", { validatorPubkey: `0x${"AA".repeat(48)}` }, /\/0\/validatorPubkey/],
    ["a share index beyond the public shares", { shareIndex: 5 }, /shareIndex 5 is beyond the 4 public shares/],
    ["an unreachable threshold", { threshold: 5 }, /threshold 5 is more than the 4 public shares/],
    ["an unknown field", { extra: 1 } as Partial<KeyShareEntry>, /\/0/],
  ])("refuses %s, naming the field", (_, overrides, message) => {
    const bad = { ...entry(), ...overrides } as Record<string, unknown>;
    for (const key of Object.keys(bad)) if (bad[key] === undefined) delete bad[key];
    expect(() => parseManifest([bad], "keyshares.json")).toThrow(message);
  });

  it("refuses a name or a validator listed twice", () => {
    expect(() => parseManifest([entry(), entry({ validatorPubkey: pk("bb") })], "m")).toThrow(/name dv-0-share-2 is listed twice/);
    expect(() => parseManifest([entry(), entry({ name: "other" })], "m")).toThrow(/listed twice; a node holds one share/);
  });

  it("reads a file, naming it when it is not JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nektar-manifest-"));
    dirs.push(dir);
    await writeFile(join(dir, "keyshares.json"), JSON.stringify([entry()]));
    expect(await readManifestFile(join(dir, "keyshares.json"))).toEqual([entry()]);
    await writeFile(join(dir, "bad.json"), "{");
    await expect(readManifestFile(join(dir, "bad.json"))).rejects.toThrow(/key-shares manifest .*bad.json: cannot read it/);
  });
});
