import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { BeaconDouble } from "../../../test/doubles/beacon/double.js";
import { randomScalar } from "../../core/crypto/fr.js";
import { customNetwork } from "../../core/eth/networks.js";
import { freePorts } from "../../core/p2p/testing.js";
import { FileSlashingProtection } from "../../signer/slashingProtection/index.js";
import { testNodeConfig, writeTestCluster } from "../../signer/node/testing.js";
import { main } from "../main.js";

async function captureStderr(fn: () => Promise<number>): Promise<{ code: number; stderr: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => chunks.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    return { code: await fn(), stderr: chunks.join("") };
  } finally {
    process.stderr.write = write;
  }
}

describe("nektar node", () => {
  let dir: string;
  let beacon: BeaconDouble;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-node-cli-"));
    beacon = await BeaconDouble.start({ slotMs: 1000 });
  });
  afterAll(async () => {
    await beacon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves until SIGTERM, then stops and exits 0, leaving its data dir to the next start", async () => {
    const [p2p, api, metrics] = await freePorts(3);
    // A cluster of one (threshold 1): the node signs alone.
    const cluster = await writeTestCluster(join(dir, "one"), {
      validatorSecrets: [randomScalar()],
      operators: 1,
      threshold: 1,
      ports: [p2p!],
      network: customNetwork({ name: "beacon-double", genesisForkVersion: "0x00000001" }),
    });
    const op = cluster.operators[0]!;
    const config = testNodeConfig(op, { p2p: p2p!, api: api!, metrics: metrics! }, { beaconNodeUrls: [beacon.url], network: "beacon-double", validatorClient: false });
    await writeFile(join(op.dir, "node.json"), JSON.stringify(config));

    const exit = main(["node", "--config", join(op.dir, "node.json")]);
    const deadline = Date.now() + 30_000;
    while ((await fetch(`http://127.0.0.1:${api}/readyz`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error("the node was not ready in 30 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    process.emit("SIGTERM");
    expect(await exit).toBe(0);
    await expect(fetch(`http://127.0.0.1:${api}/livez`)).rejects.toThrow();
    // The store was closed: another process may open it.
    const store = await FileSlashingProtection.open(config.dataDir);
    await store.close();
  }, 60_000);

  it("exits 1 naming the field of node.json that is wrong", async () => {
    await writeFile(join(dir, "bad.json"), JSON.stringify({ network: "hoodi" }));
    const { code, stderr } = await captureStderr(() => main(["node", "--config", join(dir, "bad.json")]));
    expect(code).toBe(1);
    expect(stderr).toMatch(/nektar: node config .*bad.json: beaconNodeUrls: Expected required property/);
  });
});
