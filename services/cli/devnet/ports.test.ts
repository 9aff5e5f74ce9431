import { describe, expect, it } from "@jest/globals";
import { createServer } from "node:net";
import { NektarError } from "../../core/errors.js";
import { HOST, Ports } from "./ports.js";

describe("Ports", () => {
  it("without a base: distinct free ports", async () => {
    const ports = await new Ports().take(8, "test");
    expect(new Set(ports).size).toBe(8);
  });

  it("from a base: consecutive ports in the order asked", async () => {
    // Other processes on this machine may hold a port of a block: try a few bases.
    for (let attempt = 0; ; attempt++) {
      const [base] = await new Ports().take(1, "a base");
      const ports = new Ports(base);
      const first = ports.take(2, "the executor").catch((err: unknown) => err);
      const taken = await first;
      if (taken instanceof NektarError && attempt < 5) continue;
      expect(taken).toEqual([base, base! + 1]);
      expect(await ports.one("the aggregator")).toBe(base! + 2);
      return;
    }
  });

  it("from a base: a port in use fails the start, named with what it was for", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const busy = (server.address() as { port: number }).port;
    try {
      await expect(new Ports(busy).take(1, "the workers")).rejects.toThrow(`--port-base: port ${busy} on ${HOST} (for the workers) already in use; choose another base`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
