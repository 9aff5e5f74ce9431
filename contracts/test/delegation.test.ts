/** Delegation: vault shares, stake checkpoints per block, the withdrawal delay, pro-rata slashing. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { parseEther } from "ethers";

import { events } from "../client/index.js";
import type { DelegationManagerEvents, NektarContracts } from "../client/index.js";
import { WITHDRAWAL_DELAY_BLOCKS, deployFixture, makeOperator } from "./fixture.js";
import type { Fixture, Operator } from "./fixture.js";
import { SETUP_TIMEOUT_MS, expectRevert } from "./helpers.js";

describe("DelegationManager", () => {
  let f: Fixture;
  let operator: Operator;
  let alice: NektarContracts;
  let bob: NektarContracts;
  let aliceAddress: string;

  beforeAll(async () => {
    f = await deployFixture();
    operator = await makeOperator(f, 1);
    alice = await f.as(10);
    bob = await f.as(11);
    aliceAddress = await (await f.anvil.signer(10)).getAddress();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await f?.anvil.stop();
  });

  it("delegates divETH and ETH, and checkpoints the operator's stake per block", async () => {
    const d = f.contracts.delegationManager;
    await (await alice.stakingPool.deposit(aliceAddress, { value: parseEther("10") })).wait();
    await (await alice.divETH.approve(d.target, parseEther("10"))).wait();
    const r1 = await (await alice.delegationManager.delegate(operator.address, parseEther("10"))).wait();
    expect(events<DelegationManagerEvents>(d).one(r1, "Delegated").shares).toBe(parseEther("10"));
    const r2 = await (await bob.delegationManager.delegateETH(operator.address, { value: parseEther("5") })).wait();
    await f.anvil.mine();
    expect(await d.stakeOf(operator.address)).toBe(parseEther("15"));
    expect(await d.stakeAt(operator.address, r1!.blockNumber)).toBe(parseEther("10"));
    expect(await d.stakeAt(operator.address, r2!.blockNumber)).toBe(parseEther("15"));
    expect(await d.stakeAt(operator.address, r1!.blockNumber - 1)).toBe(0n);
    await expectRevert(d.stakeAt(operator.address, (await f.anvil.blockNumber()) + 1), "FutureLookup");
    await expectRevert(alice.delegationManager.delegateETH(aliceAddress, { value: 1n }), "OperatorNotRegistered");
  });

  it("takes queued shares out of the stake at once and pays them only after the delay", async () => {
    const d = f.contracts.delegationManager;
    await expectRevert(alice.delegationManager.queueWithdrawal(operator.address, parseEther("11")), "InsufficientShares");
    const receipt = await (await alice.delegationManager.queueWithdrawal(operator.address, parseEther("4"))).wait();
    const queued = events<DelegationManagerEvents>(d).one(receipt, "WithdrawalQueued");
    expect(queued.completableAtBlock).toBe(BigInt(receipt!.blockNumber + WITHDRAWAL_DELAY_BLOCKS));
    expect(await d.stakeOf(operator.address)).toBe(parseEther("11"));
    await expectRevert(alice.delegationManager.completeWithdrawal(queued.withdrawalId), "WithdrawalDelayNotElapsed");
    await expectRevert(bob.delegationManager.completeWithdrawal(queued.withdrawalId), "NotWithdrawalOwner");
    await f.anvil.mine(WITHDRAWAL_DELAY_BLOCKS);
    const before = await alice.divETH.balanceOf(aliceAddress);
    await (await alice.delegationManager.completeWithdrawal(queued.withdrawalId)).wait();
    expect((await alice.divETH.balanceOf(aliceAddress)) - before).toBe(parseEther("4"));
    await expectRevert(alice.delegationManager.completeWithdrawal(queued.withdrawalId), "WithdrawalAlreadyCompleted");
  });

  it("slashes every delegator pro rata, queued withdrawals included, and burns the divETH", async () => {
    const d = f.contracts.delegationManager;
    const queued = events<DelegationManagerEvents>(d).one(
      await (await bob.delegationManager.queueWithdrawal(operator.address, parseEther("5"))).wait(),
      "WithdrawalQueued",
    );
    await expectRevert(bob.delegationManager.slash(operator.address, 1000), "AccessControlUnauthorizedAccount");
    // The deployer plays the slasher here.
    await (await d.grantRole(await d.SLASHER_ROLE(), await f.deployer.getAddress())).wait();
    const supply = await f.contracts.divETH.totalSupply();
    const slashed = events<DelegationManagerEvents>(d).one(await (await d.slash(operator.address, 1000)).wait(), "OperatorSlashed");
    expect(slashed.amount).toBe(parseEther("1.1")); // 10% of 6 (alice) + 5 (bob, queued)
    expect(await f.contracts.divETH.totalSupply()).toBe(supply - slashed.amount);
    expect(await d.stakeOf(operator.address)).toBe(parseEther("5.4"));
    await f.anvil.mine(WITHDRAWAL_DELAY_BLOCKS);
    const bobAddress = await (await f.anvil.signer(11)).getAddress();
    await (await bob.delegationManager.completeWithdrawal(queued.withdrawalId)).wait();
    expect(await bob.divETH.balanceOf(bobAddress)).toBe(parseEther("4.5"));
  });

  it("refuses new money into a vault slashed to nothing", async () => {
    const d = f.contracts.delegationManager;
    await (await d.slash(operator.address, 10_000)).wait();
    expect(await d.stakeOf(operator.address)).toBe(0n);
    await expectRevert(alice.delegationManager.delegateETH(operator.address, { value: parseEther("1") }), "OperatorFullySlashed");
  });
});
