import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { parseNodeConfig, readNodeConfig, sharesSource, withPeerAddresses } from "./config.js";

const PEER_A = "16Uiu2HAm9uV7Pg3SstSUeXgi1tPVYHhM87wz3hwLiypfHGV1vVdm";
const PEER_B = "16Uiu2HAkyg4knu6kRm6pspQGx9T3Ah9U6kcUA1iD9akZfwmQ2DGQ";

/** node.json exactly as controller/resources/operator.ts writes it. */
const fromController = {
  network: "hoodi",
  beaconNodeUrls: ["http://beacon-1:5052", "https://beacon-2.example.com"],
  executionUrl: "http://geth:8545",
  p2p: { port: 9000, externalAddress: "/dns4/op1.example.com/tcp/9000" },
  api: { port: 3600 },
  metrics: { port: 9464 },
  identityFile: "/var/run/nektar/identity/identity.key",
  keySharesDir: "/var/run/nektar/keyshares",
  dataDir: "/var/lib/nektar",
};

describe("node.json", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("accepts what the controller writes, shares from the key-shares folder", () => {
    const config = parseNodeConfig(fromController, "node.json");
    expect(config).toEqual(fromController);
    expect(sharesSource(config)).toEqual({ kind: "manifest", dir: "/var/run/nektar/keyshares" });
  });

  it("runs from a DKG output folder, resolving paths against the config's folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nektar-node-config-"));
    dirs.push(dir);
    const { keySharesDir: _, executionUrl: __, ...rest } = fromController;
    await writeFile(
      join(dir, "node.json"),
      JSON.stringify({ ...rest, network: "devnet", identityFile: "id.key", dataDir: "data", lockFile: "out/cluster-lock.json", keysDir: "out/validator_keys", passwordFile: "/run/pw", validatorClient: false }),
    );
    const config = await readNodeConfig(join(dir, "node.json"));
    expect(config.identityFile).toBe(join(dir, "id.key"));
    expect(config.validatorClient).toBe(false);
    expect(sharesSource(config)).toEqual({ kind: "dkg", lockFile: join(dir, "out/cluster-lock.json"), keysDir: join(dir, "out/validator_keys"), passwordFile: "/run/pw" });
  });

  it.each([
    ["a missing field", { ...fromController, dataDir: undefined }, /node.json: dataDir: Expected required property/],
    ["a port out of range", { ...fromController, api: { port: 70000 } }, /node.json: api.port: Expected integer to be less or equal to 65535/],
    ["an unknown field", { ...fromController, p2p: { port: 9000, extra: true } }, /node.json: p2p.extra/],
    ["no beacon node", { ...fromController, beaconNodeUrls: [] }, /node.json: beaconNodeUrls: .*\(Beacon nodes, tried in order/],
    ["a URL that is not http", { ...fromController, beaconNodeUrls: ["ftp://x"] }, /node.json: beaconNodeUrls.0:/],
    ["two sources of shares", { ...fromController, lockFile: "a" }, /keySharesDir and lockFile\/keysDir\/passwordFile are two ways/],
    ["no source of shares", { ...fromController, keySharesDir: undefined, lockFile: "a" }, /no shares: set keySharesDir, or lockFile, keysDir and passwordFile/],
    ["a peer id that is not one", { ...fromController, peers: [{ peerId: "QmNotSecp", multiaddrs: ["/dns4/a/tcp/9000"] }] }, /node.json: peers.0.peerId: .*\(An operator's peer id/],
    ["a peer address that is not a TCP multiaddr", { ...fromController, peers: [{ peerId: PEER_A, multiaddrs: ["a:9000"] }] }, /node.json: peers.0.multiaddrs.0: /],
    ["a peer without an address", { ...fromController, peers: [{ peerId: PEER_A, multiaddrs: [] }] }, /node.json: peers.0.multiaddrs: /],
    ["a peer listed twice", { ...fromController, peers: [PEER_A, PEER_B, PEER_A].map((peerId) => ({ peerId, multiaddrs: ["/dns4/a/tcp/9000"] })) }, /node.json: peers.2.peerId: .* is listed twice/],
    ["two servers on one port", { ...fromController, metrics: { port: 3600 } }, /api.port and metrics.port are both 3600/],
  ])("refuses %s, naming the field", (_, value, message) => {
    expect(() => parseNodeConfig(JSON.parse(JSON.stringify(value)), "node.json")).toThrow(message);
  });

  it("takes peers' addresses in place of the lock's, for the peers the lock lists only", () => {
    const config = parseNodeConfig({ ...fromController, peers: [{ peerId: PEER_A, multiaddrs: ["/dns4/op-2-node-0.op-2-node.staking.svc/tcp/9000"] }, { peerId: PEER_B, multiaddrs: ["/ip4/10.0.0.2/tcp/9000"] }] }, "node.json");
    const lock = [
      { name: "op-1", peerId: "16Uiu2HAmHUhT5jQzGRa7yqtYq59tCf1HSxUchxksZ2u6yHqhCiV2", multiaddrs: ["/dns4/dv-dkg-1.dv-dkg.staking.svc/tcp/3610"] },
      { name: "op-2", peerId: PEER_A, multiaddrs: ["/dns4/dv-dkg-2.dv-dkg.staking.svc/tcp/3610"] },
    ];
    expect(withPeerAddresses(lock, config.peers)).toEqual({
      members: [lock[0], { name: "op-2", peerId: PEER_A, multiaddrs: ["/dns4/op-2-node-0.op-2-node.staking.svc/tcp/9000"] }],
      unknown: [PEER_B],
    });
    expect(withPeerAddresses(lock, undefined)).toEqual({ members: lock, unknown: [] });
  });

  it("names the file when it is not JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nektar-node-config-"));
    dirs.push(dir);
    await writeFile(join(dir, "node.json"), "{ nope");
    await expect(readNodeConfig(join(dir, "node.json"))).rejects.toThrow(/node config .*node.json: cannot read it/);
  });
});
