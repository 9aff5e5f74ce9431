/**
 * `nektar devnet` end to end, as a user runs it: a real process, a real chain (anvil from npm),
 * a real DKG over libp2p, the example AVS's tasks certified on-chain; then Ctrl-C (SIGINT) must
 * stop everything: exit code 0, no child process left, every port it printed closed.
 *
 * A small cluster (4 operators, threshold 3, 1 validator) keeps it within a couple of minutes
 * on a loaded 2-core machine; the defaults (16 / 11 / 4) run the same code.
 */
import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { childPids, isListening, isRunning, portsIn, startDevnet } from "./devnet.js";

/** The live summary once the chain has a task certificate from the AVS. */
const CERTIFIED = /tasks \d+ created, [1-9]\d* certified/;

describe("nektar devnet", () => {
  it("runs the system until the AVS's tasks are certified on-chain, and stops cleanly on SIGINT", async () => {
    const devnet = startDevnet(["--operators", "4", "--validators", "1"]);
    try {
      await devnet.waitFor(CERTIFIED, 240_000);
      const output = devnet.output();
      // What it said runs where: the data dir, the logs, the chain's and the AVS's URLs.
      expect(output).toContain(`data dir             ${devnet.dataDir}`);
      expect(output).toMatch(/DKG of 1 validators among the 4 operators over libp2p \.\.\. [\d.]+ s: lock 0x[0-9a-f]{16}/);
      // Its deposit data went through the staking pool: the DKG's threshold signature checked on-chain.
      expect(output).toMatch(/depositing the 1 validators through the staking pool \.\.\. [\d.]+ s: 32 ETH to the deposit contract/);
      const lock = JSON.parse(readFileSync(join(devnet.dataDir, "operators", "op-0", "dkg", "cluster-lock.json"), "utf8")) as { definition: { threshold: number } };
      expect(lock.definition.threshold).toBe(3);

      // The REST API it names serves its OpenAPI document, and knows the tasks the devnet submitted.
      const gateway = /AVS REST API +(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(output)![1]!;
      const openapi = (await (await fetch(`${gateway}/openapi.json`)).json()) as { openapi: string };
      expect(openapi.openapi).toMatch(/^3\./);
      const task = await fetch(`${gateway}/v1/tasks/1`);
      expect(task.status).toBe(200);

      const ports = portsIn(output);
      expect(ports.length).toBeGreaterThan(0);
      for (const port of ports) expect({ port, listening: await isListening(port) }).toEqual({ port, listening: true });
      const children = childPids(devnet.child.pid!);
      expect(children.length).toBeGreaterThan(0); // anvil, at least

      devnet.child.kill("SIGINT");
      expect(await devnet.exited).toBe(0);
      expect(devnet.output()).toMatch(/stopped; data and logs kept in /);
      expect(devnet.output()).not.toMatch(/could not stop/);
      for (const pid of children) expect({ pid, running: isRunning(pid) }).toEqual({ pid, running: false });
      for (const port of ports) expect({ port, listening: await isListening(port) }).toEqual({ port, listening: false });
    } finally {
      await devnet.cleanup();
    }
  }, 300_000);

  it("stops on SIGTERM while starting, and refuses a data dir that is not empty, naming it", async () => {
    const devnet = startDevnet(["--operators", "4", "--validators", "1"]);
    try {
      await devnet.waitFor(/\[2\/\d+\] deploying/, 120_000);
      const children = childPids(devnet.child.pid!);
      expect(children.length).toBeGreaterThan(0); // anvil is up by then
      devnet.child.kill("SIGTERM");
      expect(await devnet.exited).toBe(0);
      expect(devnet.output()).toMatch(/stopped; data and logs kept in /);
      for (const pid of children) expect({ pid, running: isRunning(pid) }).toEqual({ pid, running: false });
      const again = startDevnet(["--operators", "4", "--data-dir", devnet.dataDir]);
      try {
        expect(await again.exited).toBe(1);
        expect(again.output()).toContain(`--data-dir ${devnet.dataDir}: not empty`);
      } finally {
        await again.cleanup();
      }
    } finally {
      await devnet.cleanup();
    }
  }, 180_000);

  it("stops everything and exits 1, saying why, when its chain dies", async () => {
    const devnet = startDevnet(["--operators", "4", "--validators", "1"]);
    try {
      await devnet.waitFor(CERTIFIED, 240_000);
      const [anvil, ...others] = childPids(devnet.child.pid!);
      expect(others).toEqual([]);
      process.kill(anvil!, "SIGKILL");
      expect(await devnet.exited).toBe(1);
      expect(devnet.output()).toMatch(/nektar: devnet: the chain at http:\/\/127\.0\.0\.1:\d+ stopped answering \(.*\); stopping everything/);
      expect(devnet.output()).toMatch(/stopped; data and logs kept in /);
      expect(devnet.output()).not.toMatch(/could not stop/);
    } finally {
      await devnet.cleanup();
    }
  }, 300_000);
});
