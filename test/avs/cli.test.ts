/**
 * `nektar avs aggregator|worker|gateway --config <file>` as separate processes (the CLI over
 * the TypeScript sources, as the devnet test runs it): a task submitted over REST is certified,
 * and SIGTERM stops each process cleanly.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { startExecutor } from "../../examples/sha256-avs/executor.js";
import type { ExecutorServer } from "../../examples/sha256-avs/executor.js";
import { deployAvsNetwork, writeAvsConfigFiles } from "../../services/avs/testing.js";
import type { AvsNetwork } from "../../services/avs/testing.js";
import { freePorts } from "../../services/core/p2p/testing.js";

const ROOT = resolve(import.meta.dirname, "../..");
const API_KEY = "cli-test";

interface Running {
  child: ChildProcess;
  /** The first stdout line: what the command prints once it serves. */
  banner: string;
}

/** Starts `nektar avs <args>` and waits for its first line on stdout. */
function nektar(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, ["--import", "./test/devnet/register.mjs", "test/devnet/nektar.ts", "avs", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NEKTAR_LOG_LEVEL: "warn" },
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`nektar avs ${args.join(" ")}: no output within 90 s\n${stderr}`)), 90_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf("\n");
      if (newline >= 0) {
        clearTimeout(timer);
        resolve({ child, banner: stdout.slice(0, newline) });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nektar avs ${args.join(" ")} exited with ${code}\n${stderr}`));
    });
  });
}

/** SIGTERM, then the exit code. */
function terminate(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

describe("nektar avs as processes", () => {
  let net: AvsNetwork;
  let dir: string;
  let executor: ExecutorServer;
  const processes: Running[] = [];

  beforeAll(async () => {
    net = await deployAvsNetwork({ operators: 2 });
    dir = await mkdtemp(join(tmpdir(), "nektar-avs-cli-"));
    executor = await startExecutor({ rounds: 10 });
  }, 180_000);

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await executor?.stop();
    await net?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("certifies a task submitted over REST, and each process stops on SIGTERM with exit code 0", async () => {
    const [p2p, http] = await freePorts(2);
    const files = await writeAvsConfigFiles(net, dir, {
      executorUrl: executor.url,
      aggregatorPorts: { p2p: p2p!, http: http! },
      apiKeySha256: createHash("sha256").update(API_KEY).digest("hex"),
    });
    const aggregator = await nektar(["aggregator", "--config", files.aggregator]);
    processes.push(aggregator);
    expect(aggregator.banner).toContain(files.aggregatorPeerId);
    const workers = await Promise.all(files.workers.map((path) => nektar(["worker", "--config", path])));
    processes.push(...workers);
    const gateway = await nektar(["gateway", "--config", files.gateway]);
    processes.push(gateway);
    const gatewayUrl = /on (http:\/\/\S+)/.exec(gateway.banner)![1]!;

    const submitted = await fetch(`${gatewayUrl}/v1/avs/${net.avsId}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY },
      body: JSON.stringify({ input: "0xc11c" }),
    });
    expect(submitted.status).toBe(202);
    const { taskId } = (await submitted.json()) as { taskId: number };
    let state = "";
    for (let i = 0; i < 1200 && state !== "certified" && state !== "failed"; i++) {
      state = ((await (await fetch(`${gatewayUrl}/v1/tasks/${taskId}`)).json()) as { state: string }).state;
      if (state !== "certified") await new Promise((r) => setTimeout(r, 50));
    }
    expect(state).toBe("certified");
    expect(await net.creator.findResponse(taskId)).not.toBeNull();

    const codes = [];
    for (const p of [gateway, ...workers, aggregator]) codes.push(await terminate(p.child));
    expect(codes).toEqual([0, 0, 0, 0]);
  }, 240_000);
});
