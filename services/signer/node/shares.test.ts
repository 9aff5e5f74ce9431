import { cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { randomScalar } from "../../core/crypto/fr.js";
import { networkByName } from "../../core/eth/networks.js";
import { generateIdentity } from "../../core/p2p/identity.js";
import { loadShares } from "./shares.js";
import { type TestClusterFiles, writeManifestFolder, writeTestCluster } from "./testing.js";
import { folderDigest, watchFolder } from "./watch.js";

describe("an operator's key shares", () => {
  let dir: string;
  let cluster: TestClusterFiles;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-shares-"));
    cluster = await writeTestCluster(dir, { validatorSecrets: [randomScalar(), randomScalar()], operators: 4, threshold: 3, ports: [1, 2, 3, 4], network: networkByName("hoodi") });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const dkg = (i: number) => {
    const op = cluster.operators[i]!;
    return { kind: "dkg" as const, lockFile: join(op.dkgDir, "cluster-lock.json"), keysDir: join(op.dkgDir, "validator_keys"), passwordFile: op.passwordFile };
  };

  it("loads a DKG output folder: this operator's place in the lock and its shares", async () => {
    const loaded = (await loadShares(dkg(2), cluster.operators[2]!.identity))!;
    expect(loaded.operatorIndex).toBe(2);
    expect(loaded.shares).toEqual(cluster.operators[2]!.shares);
    expect(loaded.names).toEqual(["validator-0", "validator-1"]);
    expect(loaded.lock.lockHash).toBe(cluster.lock.lockHash);
  });

  it("refuses an identity that is not an operator of the lock", async () => {
    await expect(loadShares(dkg(0), generateIdentity())).rejects.toThrow(/is not an operator of the cluster test-cluster: check identityFile/);
  });

  it("refuses another operator's keystores", async () => {
    await expect(loadShares(dkg(0), cluster.operators[1]!.identity)).rejects.toThrow(/not this operator's share 2 of validator 0/);
  });

  it("loads a key-shares manifest folder, names from the manifest", async () => {
    const folder = join(dir, "manifest-1");
    await writeManifestFolder(folder, cluster, 1);
    const loaded = (await loadShares({ kind: "manifest", dir: folder }, cluster.operators[1]!.identity))!;
    expect(loaded.shares).toEqual(cluster.operators[1]!.shares);
    expect(loaded.names).toEqual(["dv-0-share-2", "dv-1-share-2"]);
    // The same shares from the DKG folder are the same set: a switch between them restarts nothing.
    expect((await loadShares(dkg(1), cluster.operators[1]!.identity))!.fingerprint).toBe(loaded.fingerprint);
  });

  it("has no shares while the optional Secret is empty", async () => {
    await mkdir(join(dir, "empty"));
    expect(await loadShares({ kind: "manifest", dir: join(dir, "empty") }, cluster.operators[0]!.identity)).toBeUndefined();
  });

  it("refuses a manifest holding only some of the lock's validators", async () => {
    const folder = join(dir, "manifest-subset");
    await writeManifestFolder(folder, cluster, 0, [1]);
    await expect(loadShares({ kind: "manifest", dir: folder }, cluster.operators[0]!.identity)).rejects.toThrow(/lists 1 of the 2 validators .* a node needs a share of each/);
  });

  it("refuses a manifest entry that contradicts the lock, or a keystore of another share", async () => {
    const folder = join(dir, "manifest-bad");
    const entries = await writeManifestFolder(folder, cluster, 0);
    const write = (value: unknown) => writeFile(join(folder, "keyshares.json"), JSON.stringify(value));
    const load = () => loadShares({ kind: "manifest", dir: folder }, cluster.operators[0]!.identity);

    await write(entries.map((e, i) => (i === 1 ? { ...e, threshold: 2 } : e)));
    await expect(load()).rejects.toThrow(/dv-1-share-1: threshold 2, the lock's is 3/);
    await write(entries.map((e) => ({ ...e, shareIndex: 2 })));
    await expect(load()).rejects.toThrow(/dv-0-share-1: shareIndex 2, but this node is operator 1 of the lock/);
    // Validator 0's keystore in place of validator 1's: a valid keystore, the wrong secret.
    await write(entries.map((e, i) => (i === 1 ? { ...e, keystoreFile: entries[0]!.keystoreFile } : e)));
    await expect(load()).rejects.toThrow(/holds the secret of 0x[0-9a-f]+, not share 1 of/);
  });

  it("notices the kubelet's update of a Secret volume (a swapped ..data symlink)", async () => {
    // A Secret volume: visible names are symlinks through ..data, which points at a timestamped folder.
    const volume = join(dir, "volume");
    await mkdir(volume);
    const publish = async (stamp: string, validators: number[]) => {
      const data = join(volume, `..${stamp}`);
      await writeManifestFolder(data, cluster, 3, validators);
      await symlink(`..${stamp}`, join(volume, "..data_tmp"));
      await rename(join(volume, "..data_tmp"), join(volume, "..data"));
    };
    await publish("1", [0, 1]);
    for (const name of ["keyshares.json", "dv-0-share-4.keystore.json", "dv-0-share-4.password", "dv-1-share-4.keystore.json", "dv-1-share-4.password", `cluster-lock-${cluster.lock.lockHash.slice(2, 18)}.json`]) {
      await symlink(join("..data", name), join(volume, name));
    }
    let changes = 0;
    let notify: () => void = () => undefined;
    const watcher = watchFolder(volume, await folderDigest(volume), async () => {
      changes++;
      notify();
    }, { pollMs: 60_000, debounceMs: 50 });
    try {
      const changed = new Promise<void>((resolve) => (notify = resolve));
      // The new version: the same shares re-encrypted (new keystores, same secrets).
      await publish("2", [0, 1]);
      await changed;
      expect(changes).toBe(1);
      const loaded = (await loadShares({ kind: "manifest", dir: volume }, cluster.operators[3]!.identity))!;
      expect(loaded.shares).toEqual(cluster.operators[3]!.shares);
      expect(JSON.parse(await readFile(join(volume, "keyshares.json"), "utf8"))).toHaveLength(2);
    } finally {
      watcher.close();
    }
  });

  it("polls when no event comes, and calls nothing when nothing changed", async () => {
    const folder = join(dir, "polled");
    await cp(join(dir, "manifest-1"), folder, { recursive: true });
    let changes = 0;
    let notify: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => (notify = resolve));
    const watcher = watchFolder(folder, await folderDigest(folder), async () => {
      changes++;
      notify();
    }, { pollMs: 100, debounceMs: 60_000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(changes).toBe(0);
      await writeFile(join(folder, "keyshares.json"), "[]");
      await changed;
      expect(changes).toBe(1);
    } finally {
      watcher.close();
    }
  });
});
