/**
 * The three processes started from their config files, as `nektar avs ...` and the devnet
 * start them: files validated by the schemas, keys read from an EIP-2335 keystore, identity
 * and account key files; a task submitted over REST comes back certified and the worker's
 * status endpoint reports it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet } from "ethers";

import { TASK_CREATOR } from "../../contracts/test/fixture.js";
import { startExecutor } from "../../examples/sha256-avs/executor.js";
import type { ExecutorServer } from "../../examples/sha256-avs/executor.js";
import { AggregatorConfigSchema, GatewayConfigSchema, WorkerConfigSchema, readConfigFile } from "../../services/avs/config.js";
import { AGGREGATOR_ACCOUNT, deployAvsNetwork } from "../../services/avs/testing.js";
import type { AvsNetwork } from "../../services/avs/testing.js";
import { startAggregatorService, startGatewayService, startWorkerService } from "../../services/avs/wire.js";
import type { GatewayService } from "../../services/avs/wire.js";
import type { Aggregator } from "../../services/avs/aggregator.js";
import type { Worker } from "../../services/avs/worker.js";
import { encryptKeystore } from "../../services/core/crypto/keystore.js";
import { toHex } from "../../services/core/hex.js";
import { generateIdentity } from "../../services/core/p2p/index.js";

const MNEMONIC = "test test test test test test test test test test test junk"; // anvil's dev accounts
const accountKey = (index: number) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).privateKey;
const API_KEY = "wire-test";

describe("AVS services from config files", () => {
  let net: AvsNetwork;
  let dir: string;
  let executor: ExecutorServer;
  let aggregator: Aggregator;
  const workers: Worker[] = [];
  let gateway: GatewayService;

  const write = async (name: string, content: string | object) => {
    await writeFile(join(dir, name), typeof content === "string" ? content : JSON.stringify(content, null, 2), { mode: 0o600 });
    return join(dir, name);
  };

  beforeAll(async () => {
    net = await deployAvsNetwork({ operators: 3 });
    dir = await mkdtemp(join(tmpdir(), "nektar-avs-wire-"));
    executor = await startExecutor({ rounds: 10 });
    const chain = { ...net.chainConfig };

    await write("aggregator.key", `${accountKey(AGGREGATOR_ACCOUNT)}\n`);
    await write("aggregator-identity.key", `${toHex(generateIdentity().privateKey.raw)}\n`);
    const aggregatorPath = await write("avs-aggregator.json", {
      chain,
      avsIds: [net.avsId],
      submitter: { keyFile: "aggregator.key" },
      identityFile: "aggregator-identity.key",
      p2p: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      http: { host: "127.0.0.1", port: 0 },
    });
    aggregator = await startAggregatorService(await readConfigFile(AggregatorConfigSchema, aggregatorPath), { configPath: aggregatorPath });

    for (const [i, o] of net.operators.entries()) {
      const keystore = await encryptKeystore(o.secretKey.toBytes(), `password ${i}`, { kdf: { function: "pbkdf2", c: 16 } });
      await write(`keystore-${i}.json`, keystore);
      await write(`password-${i}.txt`, `password ${i}\n`);
      await write(`identity-${i}.key`, `${toHex(o.identity.privateKey.raw)}\n`);
      const path = await write(`avs-worker-${i}.json`, {
        chain,
        avsId: net.avsId,
        blsKey: { keystoreFile: `keystore-${i}.json`, passwordFile: `password-${i}.txt` },
        identityFile: `identity-${i}.key`,
        aggregator: { peerId: aggregator.peerId, multiaddrs: aggregator.multiaddrs },
        executor: { url: executor.url, timeoutMs: 5_000 },
        http: { host: "127.0.0.1", port: 0 },
      });
      workers.push(await startWorkerService(await readConfigFile(WorkerConfigSchema, path), { configPath: path }));
    }

    await write("creator.key", accountKey(TASK_CREATOR));
    const gatewayPath = await write("avs-gateway.json", {
      chain,
      taskCreator: { keyFile: "creator.key" },
      aggregatorUrl: aggregator.url,
      apiKeys: [{ name: "wire", sha256: createHash("sha256").update(API_KEY).digest("hex"), avsIds: [net.avsId] }],
      http: { host: "127.0.0.1", port: 0 },
    });
    gateway = await startGatewayService(await readConfigFile(GatewayConfigSchema, gatewayPath), { configPath: gatewayPath });
  }, 180_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.allSettled(workers.map((w) => w.stop()));
    await aggregator?.stop();
    await executor?.stop();
    await net?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("certifies a task submitted over REST; the workers report registered and tasksAnswered", async () => {
    const submitted = await fetch(`${gateway.url}/v1/avs/${net.avsId}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY },
      body: JSON.stringify({ input: "0x0102" }),
    });
    expect(submitted.status).toBe(202);
    const { taskId } = (await submitted.json()) as { taskId: number };
    let certificate: { verifiedOnChain?: boolean } = {};
    for (let i = 0; i < 1200 && certificate.verifiedOnChain !== true; i++) {
      const response = await fetch(`${gateway.url}/v1/tasks/${taskId}/certificate`);
      if (response.status === 200) certificate = (await response.json()) as typeof certificate;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(certificate.verifiedOnChain).toBe(true);

    // A worker counts a task once the aggregator acked it, which may come after the certificate.
    let statuses: { registered: boolean; tasksAnswered: number }[] = [];
    for (let i = 0; i < 600; i++) {
      statuses = await Promise.all(workers.map(async (w) => (await (await fetch(`${w.url}/status`)).json()) as { registered: boolean; tasksAnswered: number }));
      if (statuses.every((s) => s.tasksAnswered === 1)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(statuses.map((s) => s.registered)).toEqual([true, true, true]);
    expect(statuses.map((s) => s.tasksAnswered)).toEqual([1, 1, 1]);
    const metrics = await (await fetch(`${workers[0]!.url}/metrics`)).text();
    expect(metrics).toContain('nektar_avs_worker_tasks_total{outcome="answered"} 1');
  }, 120_000);
});
