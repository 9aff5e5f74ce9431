/**
 * `nektar devnet --beacon-node` on a real beacon chain: a Lodestar dev chain (interop genesis,
 * Lodestar's own validator client running validators 0..5), the devnet splitting validators
 * 6 and 7 among its 4 operators and running a nektar node for each. The distributed validators
 * must attest: their balances grow past the 32 ETH of genesis (a validator that misses its
 * attestations is penalized below it), and the devnet's summary counts the duties done.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { setTimeout as sleep } from "node:timers/promises";
import { type LodestarDevChain, startLodestarDevChain } from "../system/lodestar/devchain.js";
import { childPids, isRunning, startDevnet } from "./devnet.js";

const GENESIS_BALANCE_GWEI = 32_000_000_000;

async function balances(restUrl: string, indices: readonly number[]): Promise<number[]> {
  return Promise.all(
    indices.map(async (i) => {
      const body = (await (await fetch(`${restUrl}/eth/v1/beacon/states/head/validators/${i}`)).json()) as { data: { balance: string } };
      return Number(body.data.balance);
    }),
  );
}

describe("nektar devnet on a Lodestar dev chain", () => {
  let chain: LodestarDevChain;

  beforeAll(async () => {
    chain = await startLodestarDevChain({ genesisValidators: 8, startValidators: "0..5" });
  }, 120_000);

  afterAll(async () => {
    await chain?.stop();
  });

  it("its distributed validators attest on the chain, and it stops cleanly", async () => {
    const devnet = startDevnet(["--operators", "4", "--beacon-node", chain.restUrl, "--interop-validators", "6..7"]);
    try {
      await devnet.waitFor(/duties [1-9]\d* done/, 240_000);
      // Rewards land at epoch boundaries (8 slots of 2 s): wait until both have been paid.
      const deadline = Date.now() + 120_000;
      let paid = await balances(chain.restUrl, [6, 7]);
      while (paid.some((b) => b <= GENESIS_BALANCE_GWEI) && Date.now() < deadline) {
        await sleep(4_000);
        paid = await balances(chain.restUrl, [6, 7]);
      }
      expect(paid.map((b) => b > GENESIS_BALANCE_GWEI)).toEqual([true, true]);

      const children = childPids(devnet.child.pid!);
      devnet.child.kill("SIGINT");
      expect(await devnet.exited).toBe(0);
      for (const pid of children) expect(isRunning(pid)).toBe(false);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- devnet output:\n${devnet.output()}\n--- lodestar:\n${chain.logTail(20)}`);
    } finally {
      await devnet.cleanup();
    }
  }, 420_000);
});
