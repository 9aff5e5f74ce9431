import { describe, expect, it } from "@jest/globals";
import { Lifecycle } from "./lifecycle.js";

describe("Lifecycle", () => {
  it("stops components newest first, each once, and goes on past one that fails", async () => {
    const lifecycle = new Lifecycle();
    const stopped: string[] = [];
    lifecycle.add("chain", () => void stopped.push("chain"));
    lifecycle.add("nodes", async () => {
      stopped.push("nodes");
      throw new Error("socket already closed");
    });
    lifecycle.add("gateway", async () => void stopped.push("gateway"));
    const [first, second] = [lifecycle.stopAll(), lifecycle.stopAll()];
    expect(await first).toEqual(["nodes: socket already closed"]);
    expect(await second).toEqual(["nodes: socket already closed"]);
    expect(stopped).toEqual(["gateway", "nodes", "chain"]);
  });

  it("stops at once what is added while stopping (a step finishing after Ctrl-C)", async () => {
    const lifecycle = new Lifecycle();
    let late = false;
    await lifecycle.stopAll();
    lifecycle.add("late", () => {
      late = true;
    });
    expect(late).toBe(true);
  });
});
