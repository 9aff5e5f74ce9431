/** The local deposit contract: the mainnet contract's checks, and its root equals the SSZ root. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ssz } from "@lodestar/types";
import { hexlify, parseEther, randomBytes } from "ethers";

import { startAnvil } from "../anvil.js";
import type { Anvil } from "../anvil.js";
import { DepositContractAbi, DepositContractBytecode } from "../generated/index.js";
import type { DepositContract } from "../generated/index.js";
import { SETUP_TIMEOUT_MS, deploy, expectRevert } from "./helpers.js";

function randomDeposit(amountGwei: number): { pubkey: Uint8Array; withdrawalCredentials: Uint8Array; amount: number; signature: Uint8Array } {
  return { pubkey: randomBytes(48), withdrawalCredentials: randomBytes(32), amount: amountGwei, signature: randomBytes(96) };
}

describe("DepositContract", () => {
  let anvil: Anvil;
  let deposit: DepositContract;

  beforeAll(async () => {
    anvil = await startAnvil();
    deposit = await deploy<DepositContract>(await anvil.signer(0), DepositContractAbi, DepositContractBytecode);
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await anvil?.stop();
  });

  it("keeps get_deposit_root equal to hash_tree_root(List[DepositData root]) as a beacon node computes it", async () => {
    const roots: Uint8Array[] = [];
    expect(await deposit.get_deposit_root()).toBe(hexlify(ssz.phase0.DepositDataRootList.hashTreeRoot([])));
    for (const amountGwei of [32e9, 1e9, 7e9, 32e9, 2048e9]) {
      const data = randomDeposit(amountGwei);
      const root = ssz.phase0.DepositData.hashTreeRoot(data);
      await (await deposit.deposit(data.pubkey, data.withdrawalCredentials, data.signature, root, { value: BigInt(amountGwei) * 10n ** 9n })).wait();
      roots.push(root);
      expect(await deposit.get_deposit_root()).toBe(hexlify(ssz.phase0.DepositDataRootList.hashTreeRoot(roots)));
    }
    expect(await deposit.get_deposit_count()).toBe("0x0500000000000000");
  });

  it("emits the deposit as little-endian SSZ fields", async () => {
    const data = randomDeposit(32e9);
    const root = ssz.phase0.DepositData.hashTreeRoot(data);
    const receipt = await (await deposit.deposit(data.pubkey, data.withdrawalCredentials, data.signature, root, { value: parseEther("32") })).wait();
    const event = deposit.interface.parseLog(receipt!.logs[0]!)!;
    expect(event.args.pubkey).toBe(hexlify(data.pubkey));
    expect(event.args.amount).toBe("0x0040597307000000"); // 32e9 gwei, little-endian
  });

  it("rejects a root that does not match the other fields", async () => {
    const data = randomDeposit(32e9);
    const root = ssz.phase0.DepositData.hashTreeRoot({ ...data, amount: 31e9 });
    await expectRevert(deposit.deposit(data.pubkey, data.withdrawalCredentials, data.signature, root, { value: parseEther("32") }), "DepositDataRootMismatch");
  });

  it("rejects wrong lengths and amounts below 1 ETH or not in whole gwei", async () => {
    const data = randomDeposit(32e9);
    const root = ssz.phase0.DepositData.hashTreeRoot(data);
    await expectRevert(deposit.deposit(data.pubkey.slice(1), data.withdrawalCredentials, data.signature, root, { value: parseEther("32") }), "InvalidLength");
    await expectRevert(deposit.deposit(data.pubkey, data.withdrawalCredentials, data.signature, root, { value: parseEther("0.5") }), "DepositTooSmall");
    await expectRevert(deposit.deposit(data.pubkey, data.withdrawalCredentials, data.signature, root, { value: parseEther("32") + 1n }), "DepositNotGweiMultiple");
  });
});
