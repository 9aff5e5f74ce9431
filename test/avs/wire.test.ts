/**
 * The three processes started from their config files, as `nektar avs ...` and the devnet
 * start them: files validated by the schemas, keys read from an EIP-2335 keystore, identity
 * and account key files; a task submitted over REST comes back certified and the worker's
 * status endpoint reports it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startExecutor } from "../../examples/sha256-avs/executor.js";
import type { ExecutorServer } from "../../examples/sha256-avs/executor.js";
import { AggregatorConfigSchema, GatewayConfigSchema, WorkerConfigSchema, readConfigFile } from "../../services/avs/config.js";
import { deployAvsNetwork, writeAvsConfigFiles } from "../../services/avs/testing.js";
import type { AvsNetwork } from "../../services/avs/testing.js";
import { startAggregatorService, startGatewayService, startWorkerService } from "../../services/avs/wire.js";
import type { GatewayService } from "../../services/avs/wire.js";
import type { Aggregator } from "../../services/avs/aggregator.js";
import type { Worker } from "../../services/avs/worker.js";
import { freePorts } from "../../services/core/p2p/testing.js";
const API_KEY = "wire-test";

describe("AVS services from config files", () => {
  let net: AvsNetwork;
  let dir: string;
  let executor: ExecutorServer;
  let aggregator: Aggregator;
  const workers: Worker[] = [];
  let gateway: GatewayService;

  beforeAll(async () => {
    net = await deployAvsNetwork({ operators: 3 });
    dir = await mkdtemp(join(tmpdir(), "nektar-avs-wire-"));
    executor = await startExecutor({ rounds: 10 });
    const [p2p, http] = await freePorts(2);
    const files = await writeAvsConfigFiles(net, dir, {
      executorUrl: executor.url,
      aggregatorPorts: { p2p: p2p!, http: http! },
      apiKeySha256: createHash("sha256").update(API_KEY).digest("hex"),
    });
    aggregator = await startAggregatorService(await readConfigFile(AggregatorConfigSchema, files.aggregator), { configPath: files.aggregator });
    for (const path of files.workers) workers.push(await startWorkerService(await readConfigFile(WorkerConfigSchema, path), { configPath: path }));
    gateway = await startGatewayService(await readConfigFile(GatewayConfigSchema, files.gateway), { configPath: files.gateway });
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
    let certificate: { verifiedOnChain?: boolean; resultHash?: string } = {};
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

    // The data dirs the configs name, relative to their folder: each worker's signed response
    // on disk; the aggregator holds nothing once the task is certified.
    for (const i of [0, 1, 2]) {
      const record = JSON.parse(await readFile(join(dir, `worker-${i}-data`, `signed-tasks-${net.avsId}.json`), "utf8")) as { signed: { taskId: number; resultHash: string }[] };
      expect(record.signed.map((r) => [r.taskId, r.resultHash])).toEqual([[taskId, certificate.resultHash]]);
    }
    const heldFile = join(dir, "aggregator-data", "held-responses.json");
    const held = async () => (JSON.parse(await readFile(heldFile, "utf8")) as { held: unknown[] }).held;
    for (let i = 0; i < 200 && (await held()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await held()).toEqual([]);
  }, 120_000);
});
