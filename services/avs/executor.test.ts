import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createServer } from "node:http";
import type { Server } from "node:http";

import { ExecutorClient, ExecutorError } from "./executor.js";

/** A local executor whose answers the test scripts, per path. */
describe("ExecutorClient", () => {
  let server: Server;
  let base: string;
  const calls = new Map<string, number>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      const path = request.url ?? "";
      const n = (calls.get(path) ?? 0) + 1;
      calls.set(path, n);
      const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (path === "/ok") return json(200, { result: "0xabcd" });
      if (path === "/flaky") return n < 3 ? json(503, { error: "busy" }) : json(200, { result: "0x01" });
      if (path === "/bad") return json(400, { error: "input: no" });
      if (path === "/garbage") return json(200, { answer: 1 });
      // "/hang": never answers.
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = { taskId: 1, avsId: 1, referenceBlock: 1, input: new Uint8Array([1]) };
  const client = (path: string, retries = 2, timeoutMs = 2_000) => new ExecutorClient({ url: `${base}${path}`, timeoutMs, retries, backoffMs: 10 });

  it("returns the result bytes", async () => {
    expect(await client("/ok").execute(request)).toEqual(new Uint8Array([0xab, 0xcd]));
  });

  it("retries 5xx with backoff until an answer", async () => {
    expect(await client("/flaky").execute(request)).toEqual(new Uint8Array([1]));
    expect(calls.get("/flaky")).toBe(3);
  });

  it("does not retry a refusal (4xx) and says so", async () => {
    await expect(client("/bad").execute(request)).rejects.toThrow(/refused the task: HTTP 400.*after 1 attempt/);
    expect(calls.get("/bad")).toBe(1);
    await expect(client("/garbage").execute(request)).rejects.toThrow('without a "result" string');
  });

  it("gives up after its timeout on every attempt, naming it", async () => {
    const err = await client("/hang", 1, 300).execute(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorError);
    expect((err as Error).message).toMatch(/no answer within 300 ms \(after 2 attempts, 300 ms each\)/);
    expect(calls.get("/hang")).toBe(2);
  });

  it("names an unreachable executor", async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
    const address = probe.address();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const closed = new ExecutorClient({ url: `http://127.0.0.1:${port}/execute`, timeoutMs: 1_000, retries: 0, backoffMs: 0 });
    await expect(closed.execute(request)).rejects.toThrow(/unreachable \(ECONNREFUSED\)/);
  });
});
