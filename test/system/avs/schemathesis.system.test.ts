/**
 * schemathesis (PyPI, provisioned by test/system/provision/python.sh) fuzzes the live AVS
 * gateway from its own OpenAPI document: no request may cause a server error, and no response
 * may break the schema the document promises. The gateway runs in front of a real AVS on anvil
 * (operators, aggregator), with a valid API key, so writes create real tasks.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toUtf8Bytes } from "ethers";

import { startGateway } from "../../../services/avs/gateway.js";
import { deployAvsNetwork, runAvs, settled } from "../../../services/avs/testing.js";
import type { AvsNetwork, RunningAvs } from "../../../services/avs/testing.js";
import { createLogger } from "../../../services/core/log/index.js";

const KEY = "schemathesis-key";

describe("the AVS gateway under schemathesis", () => {
  let net: AvsNetwork;
  let avs: RunningAvs;
  let gateway: Awaited<ReturnType<typeof startGateway>>;

  beforeAll(async () => {
    net = await deployAvsNetwork({ operators: 4 });
    avs = await runAvs(net, { aggregatorHttp: true });
    gateway = await startGateway(
      {
        chain: net.creator,
        aggregatorUrl: avs.aggregator.url!,
        apiKeys: [{ name: "schemathesis", sha256: createHash("sha256").update(KEY).digest("hex"), avsIds: [net.avsId] }],
        rateLimit: { max: 100_000, windowMs: 60_000 },
        logger: createLogger("avs-gateway"),
      },
      { host: "127.0.0.1", port: 0 },
    );
    // A certified task, so the read routes have something to serve besides 404s.
    const created = await net.creator.createTask(net.avsId, toUtf8Bytes("fuzz"));
    await settled(avs.aggregator, Number(created.taskId));
  }, 180_000);
  afterAll(async () => {
    await gateway?.close();
    await avs?.stop();
    await net?.stop();
  });

  it("finds no server error and no response breaking the schema", async () => {
    const bin = process.env.NEKTAR_SCHEMATHESIS;
    if (bin === undefined) throw new Error("NEKTAR_SCHEMATHESIS is not set: run test/system/provision.sh python");
    const args = [
      "run",
      `${gateway.url}/openapi.json`,
      "--url",
      gateway.url,
      "--checks",
      "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
      "--max-examples",
      "25",
      "--header",
      `x-api-key: ${KEY}`,
      "--no-color",
    ];
    // Its working directory gets a .schemathesis cache: a temporary one, not the checkout.
    const cwd = await mkdtemp(join(tmpdir(), "nektar-schemathesis-"));
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(bin, args, { cwd, timeout: 240_000, maxBuffer: 16 << 20, env: { ...process.env, SCHEMATHESIS_TELEMETRY: "false" } }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, output: `${stdout}\n${stderr}` });
      });
    });
    await rm(cwd, { recursive: true, force: true });
    if (code !== 0) process.stderr.write(output);
    expect(output).not.toMatch(/Server error/i);
    expect(code).toBe(0);
    // Every operation was exercised (coverage, fuzzing and stateful phases), not skipped.
    expect(output).toMatch(/Tested: 5\b/);
    expect(output).toMatch(/No issues found/);
  }, 300_000);
});
