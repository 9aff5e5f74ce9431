/**
 * `nektar devnet` at its default sizes, what `npm start` runs: 16 operators, threshold 11, a DKG
 * of 4 validators, 16 AVS workers. A system suite for its time (a minute or two on a loaded
 * 2-core machine), not for anything outside npm; devnet.test.ts runs the same code smaller.
 */
import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { childPids, isListening, isRunning, portsIn, startDevnet } from "./devnet.js";

describe("nektar devnet at its defaults", () => {
  it("16 operators certify tasks with 11 of 16, and it stops cleanly", async () => {
    const devnet = startDevnet([]);
    try {
      await devnet.waitFor(/tasks \d+ created, [1-9]\d* certified/, 300_000);
      const lock = JSON.parse(readFileSync(join(devnet.dataDir, "operators", "op-15", "dkg", "cluster-lock.json"), "utf8")) as {
        definition: { threshold: number; operators: unknown[] };
        validators: unknown[];
      };
      expect([lock.definition.operators.length, lock.definition.threshold, lock.validators.length]).toEqual([16, 11, 4]);
      // The first certificate's signers: a stake quorum of 2/3 among 16 equal stakes is at least 11.
      const gateway = /AVS REST API +(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(devnet.output())![1]!;
      const certificate = (await (await fetch(`${gateway}/v1/tasks/1/certificate`)).json()) as { signers: string[]; verifiedOnChain: boolean };
      expect(certificate.signers.length).toBeGreaterThanOrEqual(11);
      expect(certificate.verifiedOnChain).toBe(true);

      const ports = portsIn(devnet.output());
      const children = childPids(devnet.child.pid!);
      devnet.child.kill("SIGINT");
      expect(await devnet.exited).toBe(0);
      for (const pid of children) expect(isRunning(pid)).toBe(false);
      for (const port of ports) expect({ port, listening: await isListening(port) }).toEqual({ port, listening: false });
    } finally {
      await devnet.cleanup();
    }
  }, 420_000);
});
