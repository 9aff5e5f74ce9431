/**
 * The REST gateway in front of a running AVS on anvil: a task submitted over REST is answered
 * by the operators, certified and verified on-chain; API keys, rate limits, and 4xx errors that
 * name the field.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { keccak256, toUtf8Bytes } from "ethers";

import { hashChain } from "../../examples/sha256-avs/executor.js";
import { startGateway } from "../../services/avs/gateway.js";
import type { GatewayOptions } from "../../services/avs/gateway.js";
import { toHex } from "../../services/core/hex.js";
import { createLogger } from "../../services/core/log/index.js";
import { deployAvsNetwork, runAvs } from "../../services/avs/testing.js";
import type { AvsNetwork, RunningAvs } from "../../services/avs/testing.js";

const KEY = "test-key-1";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

interface Reply {
  statusCode: number;
  json<T>(): T;
}

/** The gateway listening on loopback, called over HTTP. */
async function listening(options: GatewayOptions) {
  const gateway = await startGateway(options, { host: "127.0.0.1", port: 0 });
  const inject = async (request: { method?: string; url: string; headers?: Record<string, string>; payload?: object }): Promise<Reply> => {
    const response = await fetch(`${gateway.url}${request.url}`, {
      method: request.method ?? "GET",
      headers: { ...request.headers, ...(request.payload === undefined ? {} : { "content-type": "application/json" }) },
      body: request.payload === undefined ? undefined : JSON.stringify(request.payload),
    });
    const text = await response.text();
    return { statusCode: response.status, json: <T>() => JSON.parse(text) as T };
  };
  return { inject, close: () => gateway.close() };
}

describe("AVS REST gateway", () => {
  let net: AvsNetwork;
  let avs: RunningAvs;
  let app: Awaited<ReturnType<typeof listening>>;
  let options: GatewayOptions;

  beforeAll(async () => {
    net = await deployAvsNetwork({ operators: 4 });
    avs = await runAvs(net, { aggregatorHttp: true });
    options = {
      chain: net.creator,
      aggregatorUrl: avs.aggregator.url!,
      apiKeys: [{ name: "team", sha256: sha256(KEY), avsIds: [net.avsId] }],
      rateLimit: { max: 1_000, windowMs: 60_000 },
      logger: createLogger("avs-gateway-test"),
    };
    app = await listening(options);
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    await avs?.stop();
    await net?.stop();
  });

  it("takes a task over REST and serves its certificate, verified on-chain", async () => {
    const input = toUtf8Bytes("over rest");
    const submitted = await app.inject({ method: "POST", url: `/v1/avs/${net.avsId}/tasks`, headers: { "x-api-key": KEY }, payload: { input: toHex(input) } });
    expect(submitted.statusCode).toBe(202);
    const { taskId } = submitted.json<{ taskId: number }>();

    let state = "";
    for (let i = 0; i < 1200 && state !== "certified" && state !== "failed"; i++) {
      state = (await app.inject({ url: `/v1/tasks/${taskId}` })).json<{ state: string }>().state;
      if (state !== "certified") await new Promise((r) => setTimeout(r, 50));
    }
    expect(state).toBe("certified");
    const certificate = (await app.inject({ url: `/v1/tasks/${taskId}/certificate` })).json<Record<string, unknown>>();
    const expected = toHex(hashChain(input, 10));
    expect(certificate.result).toBe(expected);
    expect(certificate.resultHash).toBe(keccak256(expected));
    expect(certificate.verifiedOnChain).toBe(true);
    const responses = (await app.inject({ url: `/v1/tasks/${taskId}/responses` })).json<{ responses: unknown[] }>();
    expect(responses.responses.length).toBeGreaterThanOrEqual(3);

    const operators = (await app.inject({ url: `/v1/avs/${net.avsId}/operators` })).json<{ operators: { address: string }[]; totalStake: string }>();
    expect(operators.operators.map((o) => o.address).sort()).toEqual(net.operators.map((o) => o.address).sort());
    expect(operators.totalStake).toBe((40n * 10n ** 18n).toString());
  }, 120_000);

  it("requires an API key allowed for the AVS to write", async () => {
    const payload = { input: "0x01" };
    const none = await app.inject({ method: "POST", url: `/v1/avs/${net.avsId}/tasks`, payload });
    expect(none.statusCode).toBe(401);
    expect(none.json<{ message: string }>().message).toContain("x-api-key");
    const wrong = await app.inject({ method: "POST", url: `/v1/avs/${net.avsId}/tasks`, headers: { "x-api-key": "nope" }, payload });
    expect(wrong.statusCode).toBe(401);
    const otherAvs = await app.inject({ method: "POST", url: `/v1/avs/${net.avsId + 1}/tasks`, headers: { "x-api-key": KEY }, payload });
    expect(otherAvs.statusCode).toBe(403);
    expect(otherAvs.json<{ message: string }>().message).toContain("params/avsId");
  });

  it("answers bad input with a 4xx naming the field", async () => {
    const post = (payload: unknown) => app.inject({ method: "POST", url: `/v1/avs/${net.avsId}/tasks`, headers: { "x-api-key": KEY }, payload: payload as object });
    const cases: [Promise<Reply>, string][] = [
      [post({ input: "0xzz" }), "body/input"],
      [post({ input: "0x1" }), "body/input"],
      [post({}), "input"],
      [post({ input: "0x01", extra: true }), "extra"],
      [post({ input: `0x${"00".repeat(16 * 1024 + 1)}` }), "body/input"],
      [app.inject({ url: "/v1/tasks/abc" }), "params/taskId"],
      [app.inject({ url: "/v1/tasks/0" }), "params/taskId"],
      [app.inject({ url: "/v1/avs/-1/operators" }), "params/avsId"],
    ];
    for (const [request, field] of cases) {
      const response = await request;
      expect(response.statusCode).toBe(400);
      expect(response.json<{ message: string }>().message).toContain(field);
    }
    const missing = await app.inject({ url: "/v1/tasks/99999" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ message: string }>().message).toContain("params/taskId");
  });

  it("rate limits each client", async () => {
    const limited = await listening({ ...options, rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await limited.inject({ url: `/v1/tasks/99999` })).statusCode);
      expect(codes).toEqual([404, 404, 404, 429, 429]);
    } finally {
      await limited.close();
    }
  });

  it("publishes an OpenAPI 3 document of every route", async () => {
    const doc = (await app.inject({ url: "/openapi.json" })).json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toBe("3.0.3");
    expect(Object.keys(doc.paths).sort()).toEqual(
      ["/v1/avs/{avsId}/operators", "/v1/avs/{avsId}/tasks", "/v1/tasks/{taskId}", "/v1/tasks/{taskId}/certificate", "/v1/tasks/{taskId}/responses"].sort(),
    );
    expect((await app.inject({ url: "/docs" })).statusCode).toBeLessThan(400);
  });
});
