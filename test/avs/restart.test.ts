/**
 * The AVS services across restarts, on anvil with real libp2p on loopback: a worker stopped
 * while a task is created answers it after its restart; a worker restarted after signing re-sends
 * its recorded response and never executes the task into a second result; an aggregator
 * restarted while holding responses certifies the task with them; an operator that opts in
 * while the aggregator runs is admitted and counted without restarting it.
 *
 * Four of five operators join at deployment (quorum 66.67%: three of the four), the fifth in the
 * last test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { Registry } from "prom-client";

import { hashChain, startExecutor } from "../../examples/sha256-avs/executor.js";
import type { ExecutorServer } from "../../examples/sha256-avs/executor.js";
import type { Aggregator } from "../../services/avs/aggregator.js";
import type { TaskRecord } from "../../services/avs/records.js";
import { deployAvsNetwork, joinAvs, settled, startTestAggregator, startTestWorker } from "../../services/avs/testing.js";
import type { AvsNetwork, AvsOperator, TestWorkerOptions } from "../../services/avs/testing.js";
import type { Worker } from "../../services/avs/worker.js";
import { fromHex, toHex } from "../../services/core/hex.js";
import { generateIdentity } from "../../services/core/p2p/index.js";
import { freePorts } from "../../services/core/p2p/testing.js";

const SETUP_MS = 180_000;
const TEST_MS = 120_000;
const ROUNDS = 10;

describe("AVS services across restarts", () => {
  let net: AvsNetwork;
  let dir: string;
  let honest: ExecutorServer;
  /** Everything a test started, stopped after it in reverse order. */
  let running: { stop(): Promise<void> }[] = [];

  beforeAll(async () => {
    net = await deployAvsNetwork({ operators: 5, joined: 4 });
    dir = await mkdtemp(join(tmpdir(), "nektar-avs-restart-"));
    honest = await startExecutor({ rounds: ROUNDS });
  }, SETUP_MS);
  afterEach(async () => {
    for (const component of running.reverse()) await component.stop();
    running = [];
  });
  afterAll(async () => {
    await honest?.stop();
    await net?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** A data dir no earlier test used. */
  let dirs = 0;
  const dataDir = (): string => join(dir, `data-${++dirs}`);

  const aggregatorAt = async (port: number, options: Parameters<typeof startTestAggregator>[1] = {}): Promise<Aggregator> => {
    const aggregator = await startTestAggregator(net, { port, ...options });
    running.push(aggregator);
    return aggregator;
  };
  const worker = async (o: AvsOperator, options: TestWorkerOptions): Promise<Worker> => {
    const w = await startTestWorker(net, o, options);
    running.push(w);
    return w;
  };
  /** Stops a component a test started, now. */
  const stop = async (component: { stop(): Promise<void> }): Promise<void> => {
    running = running.filter((c) => c !== component);
    await component.stop();
  };
  const operatorId = (w: Worker) => w.operatorId;

  it("a worker stopped while a task is created answers it after its restart, and the task certifies", async () => {
    const aggregator = await aggregatorAt(0);
    const options = { aggregator, executorUrl: honest.url };
    const dirs = net.operators.slice(0, 4).map(() => dataDir());
    const workers = [];
    for (const [i, o] of net.operators.slice(0, 4).entries()) workers.push(await worker(o, { ...options, dataDir: dirs[i] }));
    // Two of four stop: half the stake is short of the quorum.
    await stop(workers[0]!);
    await stop(workers[1]!);
    // Down for longer than one getLogs step of the catch-up (2,000 blocks).
    await net.f.anvil.mine(2_100);

    const input = toUtf8Bytes("answered after a restart");
    const taskId = Number((await net.creator.createTask(net.avsId, input)).taskId);
    await waitFor(() => (aggregator.task(taskId)?.responses.length ?? 0) === 2);
    expect(aggregator.task(taskId)!.state).toBe("collecting");

    // The first one back completes the quorum; the second one answers too, late.
    const back = await worker(net.operators[0]!, { ...options, dataDir: dirs[0] });
    const record = await settled(aggregator, taskId);
    expect(record.reason).toBeUndefined();
    expect(record.state).toBe("certified");
    expect(record.certificate!.result).toBe(toHex(hashChain(input, ROUNDS)));
    expect(record.certificate!.signers.sort()).toEqual([back, ...workers.slice(2)].map(operatorId).sort());
    expect((await net.creator.findResponse(taskId))!.response.resultHash).toBe(keccak256(record.certificate!.result));
    const late = await worker(net.operators[1]!, { ...options, dataDir: dirs[1] });
    await waitFor(() => responseOf(aggregator.task(taskId), late.operatorId) !== undefined);
    expect(responseOf(aggregator.task(taskId), late.operatorId)!.resultHash).toBe(record.certificate!.resultHash);
  }, TEST_MS);

  it("a worker restarted after signing re-sends the same signature and never executes the task again", async () => {
    const [port] = await freePorts(1);
    const identity = generateIdentity();
    const first = await aggregatorAt(port!, { identity });
    const options = { aggregator: first, executorUrl: honest.url };
    const [o0, o1, o2, o3] = net.operators as [AvsOperator, AvsOperator, AvsOperator, AvsOperator];
    const dir0 = dataDir();
    const w0 = await worker(o0, { ...options, dataDir: dir0 });
    await worker(o1, options);

    const input = toUtf8Bytes("signed once");
    const taskId = Number((await net.creator.createTask(net.avsId, input)).taskId);
    await waitFor(() => responseOf(first.task(taskId), w0.operatorId) !== undefined);
    const signature = responseOf(first.task(taskId), w0.operatorId)!.signature;

    // Everything restarts but worker 1: the new aggregator holds nothing (no data dir), and
    // operator 0's executor now answers something else.
    await stop(w0);
    await stop(first);
    const second = await aggregatorAt(port!, { identity });
    const other = await startExecutor({ rounds: ROUNDS, corrupt: true });
    running.push(other);
    const restarted = await worker(o0, { ...options, executorUrl: other.url, dataDir: dir0 });
    await waitFor(() => responseOf(second.task(taskId), restarted.operatorId) !== undefined);
    expect(responseOf(second.task(taskId), restarted.operatorId)!.signature).toBe(signature);
    expect(other.calls).toBe(0);

    // Two operators first starting with a data dir look back over the response window.
    await worker(o2, { ...options, dataDir: dataDir() });
    await worker(o3, { ...options, dataDir: dataDir() });
    const record = await settled(second, taskId);
    expect(record.state).toBe("certified");
    expect(record.certificate!.result).toBe(toHex(hashChain(input, ROUNDS)));
    expect(record.certificate!.signers).toContain(restarted.operatorId);
    expect(record.responses.filter((r) => r.operatorId === restarted.operatorId)).toHaveLength(1);
    expect(record.evidence).toEqual([]);
    expect(other.calls).toBe(0);
  }, TEST_MS);

  it("a worker stopped while its executor works hears that task again, and re-sends (never re-executes) a later one it signed", async () => {
    const aggregator = await aggregatorAt(0);
    const [o0, o1, o2] = net.operators as [AvsOperator, AvsOperator, AvsOperator];
    const slow = toUtf8Bytes("never answered before the restart");
    // An executor that answers every task but `slow`'s.
    const stuck = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const input = fromHex((JSON.parse(Buffer.concat(chunks).toString()) as { input: string }).input, "input");
        if (toHex(input) === toHex(slow)) return;
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ result: toHex(hashChain(input, ROUNDS)) }));
      });
    });
    await new Promise<void>((resolve) => stuck.listen(0, "127.0.0.1", () => resolve()));
    running.push({
      stop: async () => {
        stuck.closeAllConnections();
        await new Promise<void>((resolve) => stuck.close(() => resolve()));
      },
    });
    const stuckUrl = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}/execute`;
    const dir0 = dataDir();
    const w0 = await worker(o0, { aggregator, executorUrl: stuckUrl, executorTimeoutMs: 60_000, dataDir: dir0 });
    await worker(o1, { aggregator, executorUrl: honest.url });
    await worker(o2, { aggregator, executorUrl: honest.url });

    const a = Number((await net.creator.createTask(net.avsId, slow)).taskId);
    const b = Number((await net.creator.createTask(net.avsId, toUtf8Bytes("signed before the restart"))).taskId);
    // Task b is signed and sent; task a is still at the executor, so the record stays below it.
    await waitFor(() => responseOf(aggregator.task(b), w0.operatorId) !== undefined);
    const signature = responseOf(aggregator.task(b), w0.operatorId)!.signature;
    expect(aggregator.task(a)!.state).toBe("collecting");
    await stop(w0);

    const fresh = await startExecutor({ rounds: ROUNDS });
    running.push(fresh);
    const restarted = await worker(o0, { aggregator, executorUrl: fresh.url, dataDir: dir0 });
    const record = await settled(aggregator, a);
    expect(record.state).toBe("certified");
    expect(record.certificate!.signers).toContain(restarted.operatorId);
    // Task b was heard again too: its recorded response re-sent (a duplicate), not executed.
    expect(fresh.calls).toBe(1);
    expect(responseOf(aggregator.task(b), restarted.operatorId)!.signature).toBe(signature);
    expect(aggregator.task(b)!.evidence).toEqual([]);
  }, TEST_MS);

  it("an aggregator restarted while holding responses certifies the task with them; responses signed while it was down reach it", async () => {
    const [port] = await freePorts(1);
    const identity = generateIdentity();
    const aggregatorDir = dataDir();
    const first = await aggregatorAt(port!, { identity, dataDir: aggregatorDir });
    const options = { aggregator: first, executorUrl: honest.url };
    const [o0, o1, o2] = net.operators as [AvsOperator, AvsOperator, AvsOperator];
    const held = [await worker(o0, options), await worker(o1, options)];

    const taskId = Number((await net.creator.createTask(net.avsId, toUtf8Bytes("held across a restart"))).taskId);
    await waitFor(() => (first.task(taskId)?.responses.length ?? 0) === 2);
    await stop(first);

    // A task created while the aggregator is down: the two workers sign it and keep trying.
    const calls = honest.calls;
    const whileDown = Number((await net.creator.createTask(net.avsId, toUtf8Bytes("sent while the aggregator is down"))).taskId);
    await waitFor(() => honest.calls === calls + 2);
    await new Promise((r) => setTimeout(r, 2_500)); // down for longer than the first few attempts

    const second = await aggregatorAt(port!, { identity, dataDir: aggregatorDir });
    // Taken again from its data dir, before any worker sent it anything.
    const reloaded = second.task(taskId)!;
    expect(reloaded.state).toBe("collecting");
    expect(reloaded.responses.map((r) => r.operatorId).sort()).toEqual(held.map(operatorId).sort());

    // The third response arrives: the quorum holds with the two reloaded ones.
    const third = await worker(o2, { ...options, dataDir: dataDir() });
    const record = await settled(second, taskId);
    expect(record.state).toBe("certified");
    expect(record.certificate!.signers.sort()).toEqual([...held, third].map(operatorId).sort());
    expect(await net.creator.findResponse(taskId)).not.toBeNull();
    // The third worker looked back and answered the other task too; the first two delivered it late.
    const late = await settled(second, whileDown);
    expect(late.state).toBe("certified");
    await waitFor(() => second.task(whileDown)!.responses.length === 3);
  }, TEST_MS);

  it("admits and counts an operator that opts in while the aggregator runs", async () => {
    const registry = new Registry();
    const aggregator = await aggregatorAt(0, { registry });
    const admitted = async () => (await registry.getSingleMetricAsString("nektar_avs_aggregator_admitted_operators")).match(/ (\d+)$/m)?.[1];
    expect(await admitted()).toBe("4");

    const late = net.operators[4]!;
    await joinAvs(net, late);
    await waitForAsync(async () => (await admitted()) === "5");

    // Five members of 10 ETH each: the quorum needs four, so the late operator's response counts.
    const options = { aggregator, executorUrl: honest.url };
    const workers = [];
    for (const o of [...net.operators.slice(0, 2), late]) workers.push(await worker(o, options));
    const input = toUtf8Bytes("a newcomer counts");
    const created = await net.creator.createTask(net.avsId, input);
    const taskId = Number(created.taskId);
    await waitFor(() => (aggregator.task(taskId)?.responses.length ?? 0) === 3);
    expect(aggregator.task(taskId)!.operators).toBe(5);
    expect(aggregator.task(taskId)!.state).toBe("collecting");
    workers.push(await worker(net.operators[2]!, { ...options, dataDir: dataDir() }));
    const record = await settled(aggregator, taskId);
    expect(record.state).toBe("certified");
    expect(record.certificate!.signers.sort()).toEqual(workers.map(operatorId).sort());
    expect(record.certificate!.signers).toContain(workers[2]!.operatorId);
  }, TEST_MS);
});

function responseOf(record: TaskRecord | undefined, operatorId: string) {
  return record?.responses.find((r) => r.operatorId === operatorId);
}

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  await waitForAsync(async () => condition(), timeoutMs);
}

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
