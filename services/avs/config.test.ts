import { describe, expect, it } from "@jest/globals";

import { WorkerConfigSchema, parseConfig } from "./config.js";

const worker = {
  chain: {
    rpcUrl: "http://127.0.0.1:8545",
    chainId: 31337,
    taskManager: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    avsDirectory: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    operatorRegistry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  },
  avsId: 1,
  blsKey: { keystoreFile: "keystore.json", passwordFile: "password.txt" },
  identityFile: "identity.key",
  aggregator: { peerId: "16Uiu2HAmQ5bZbLJ3p5Xy9y1V8Y3m6ZsTyRkX6uM5zH2dGqgk7wJx", multiaddrs: ["/ip4/127.0.0.1/tcp/3640"] },
  executor: { url: "http://127.0.0.1:8080/execute" },
};

describe("AVS config", () => {
  it("fills the defaults of a minimal worker config", () => {
    const config = parseConfig(WorkerConfigSchema, worker, "avs-worker.json");
    expect(config.executor).toEqual({ url: "http://127.0.0.1:8080/execute", timeoutMs: 10_000, retries: 2, backoffMs: 200 });
    expect(config.http).toEqual({ host: "127.0.0.1", port: 9465 });
    expect(config.p2p.listen).toEqual(["/ip4/127.0.0.1/tcp/0"]);
    expect(config.chain.pollingIntervalMs).toBe(1_000);
    expect(worker.executor).toEqual({ url: "http://127.0.0.1:8080/execute" }); // the input is not modified
    // No data dir unless given: the controller's rendering (which has none) stays valid.
    expect(config.dataDir).toBeUndefined();
    expect(config.lookbackBlocks).toBeUndefined();
  });

  it("takes a worker data dir and look-back, and names them when wrong", () => {
    const config = parseConfig(WorkerConfigSchema, { ...worker, dataDir: "/var/lib/nektar/avs", lookbackBlocks: 0 }, "f");
    expect([config.dataDir, config.lookbackBlocks]).toEqual(["/var/lib/nektar/avs", 0]);
    expect(() => parseConfig(WorkerConfigSchema, { ...worker, dataDir: "" }, "f")).toThrow("f: /dataDir:");
    expect(() => parseConfig(WorkerConfigSchema, { ...worker, lookbackBlocks: -1 }, "f")).toThrow("f: /lookbackBlocks:");
  });

  it("names the field that is wrong", () => {
    expect(() => parseConfig(WorkerConfigSchema, { ...worker, avsId: 0 }, "avs-worker.json")).toThrow("avs-worker.json: /avsId:");
    expect(() => parseConfig(WorkerConfigSchema, { ...worker, executor: { url: "ftp://x" } }, "f")).toThrow("f: /executor/url:");
    expect(() => parseConfig(WorkerConfigSchema, { ...worker, extra: 1 }, "f")).toThrow("f: /extra:");
  });
});
