/** AVS registration rules, opt-in/out, and the per-block aggregate key and stakes. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { aggregatePublicKeys } from "@chainsafe/blst";
import { parseEther } from "ethers";

import { g1FromPublicKey } from "../client/index.js";
import type { NektarContracts } from "../client/index.js";
import { WITHDRAWAL_DELAY_BLOCKS, deployFixture, makeOperator, operatorKey, registerAVS, slashingParams, taskParams } from "./fixture.js";
import type { Fixture, Operator } from "./fixture.js";
import { SETUP_TIMEOUT_MS, expectRevert } from "./helpers.js";

const INFINITY = { xHi: 0n, xLo: 0n, yHi: 0n, yLo: 0n };

function apkOf(indices: number[]): unknown {
  return g1FromPublicKey(aggregatePublicKeys(indices.map((i) => operatorKey(i).toPublicKey())));
}

describe("AVSDirectory", () => {
  let f: Fixture;
  let owner: NektarContracts;
  let creator: string;
  let ops: Operator[];
  let avsId: bigint;

  beforeAll(async () => {
    f = await deployFixture();
    owner = await f.as(14);
    creator = await (await f.anvil.signer(15)).getAddress();
    ops = [];
    for (const i of [1, 2, 3]) ops.push(await makeOperator(f, i, { stake: parseEther(String(i * 10)) }));
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await f?.anvil.stop();
  });

  it("rejects trust requirements that cannot work, naming the field", async () => {
    const base = taskParams({ taskCreator: creator, arbiter: creator });
    const d = owner.avsDirectory;
    await expectRevert(d.registerAVS(0, { ...base, quorumBps: 0 }, slashingParams(), ""), "QuorumOutOfRange");
    await expectRevert(d.registerAVS(0, { ...base, quorumBps: 10_001 }, slashingParams(), ""), "QuorumOutOfRange");
    expect(await expectRevert(d.registerAVS(0, { ...base, taskCreator: "0x" + "00".repeat(20) }, slashingParams(), ""), "ZeroAddress")).toEqual(["taskCreator"]);
    expect(await expectRevert(d.registerAVS(0, { ...base, responseWindowBlocks: 0 }, slashingParams(), ""), "ZeroWindow")).toEqual(["responseWindowBlocks"]);
    const windows = await expectRevert(d.registerAVS(0, { ...base, challengeWindowBlocks: WITHDRAWAL_DELAY_BLOCKS }, slashingParams(), ""), "WindowsExceedWithdrawalDelay");
    expect(windows[1]).toBe(BigInt(WITHDRAWAL_DELAY_BLOCKS));
    expect(await expectRevert(d.registerAVS(0, base, slashingParams({ stakeBps: 10_001 }), ""), "BpsOutOfRange")).toEqual(["stakeBps", 10_001n]);
    await expectRevert(d.registerAVS(0, base, slashingParams({ vetoCommittee: [creator], vetoThreshold: 2 }), ""), "VetoThresholdOutOfRange");
    await expectRevert(d.registerAVS(0, base, slashingParams({ vetoCommittee: [], vetoThreshold: 1 }), ""), "VetoThresholdOutOfRange");
    await expectRevert(d.registerAVS(0, base, slashingParams({ vetoCommittee: [creator, creator], vetoThreshold: 1 }), ""), "DuplicateVetoer");
    avsId = await registerAVS(f, 14, base, slashingParams({ vetoCommittee: [creator], vetoThreshold: 1 }), parseEther("15"));
    expect(await owner.avsDirectory.ownerOf(avsId)).toBe(await (await f.anvil.signer(14)).getAddress());
    await expectRevert(owner.avsDirectory.taskParams(avsId + 1n), "UnknownAVS");
  });

  it("admits operators with the minimum stake and keeps their aggregate key and total stake per block", async () => {
    await expectRevert(ops[0]!.contracts.avsDirectory.optIn(avsId), "StakeBelowMinimum");
    const unregistered = await f.as(9);
    await expectRevert(unregistered.avsDirectory.optIn(avsId), "OperatorNotRegistered");
    const r2 = await (await ops[1]!.contracts.avsDirectory.optIn(avsId)).wait();
    const r3 = await (await ops[2]!.contracts.avsDirectory.optIn(avsId)).wait();
    await expectRevert(ops[2]!.contracts.avsDirectory.optIn(avsId), "AlreadyOptedIn");
    await f.anvil.mine();
    const d = f.contracts.avsDirectory;
    const before = await d.quorumAt(avsId, r2!.blockNumber - 1);
    expect(before.apk.toObject(true)).toEqual(INFINITY);
    const one = await d.quorumAt(avsId, r2!.blockNumber);
    expect(one.apk.toObject(true)).toEqual(apkOf([2]));
    expect([one.totalStake, one.operatorCount]).toEqual([parseEther("20"), 1n]);
    const two = await d.quorumAt(avsId, r3!.blockNumber);
    expect(two.apk.toObject(true)).toEqual(apkOf([2, 3]));
    expect([two.totalStake, two.operatorCount]).toEqual([parseEther("50"), 2n]);
  });

  it("follows delegation changes into the AVS totals as they happen", async () => {
    const staker = await f.as(10);
    const receipt = await (await staker.delegationManager.delegateETH(ops[1]!.address, { value: parseEther("7") })).wait();
    await f.anvil.mine();
    const d = f.contracts.avsDirectory;
    expect((await d.quorumAt(avsId, receipt!.blockNumber)).totalStake).toBe(parseEther("57"));
    expect((await d.quorumAt(avsId, receipt!.blockNumber - 1)).totalStake).toBe(parseEther("50"));
    const member = await d.memberAt(avsId, ops[1]!.operatorId, receipt!.blockNumber);
    expect([member.member, member.stake]).toEqual([true, parseEther("27")]);
    await expectRevert(d.onStakeUpdated(ops[1]!.address, 0), "OnlyDelegationManager");
  });

  it("removes an operator that opts out from the next block, keeping the history", async () => {
    const receipt = await (await ops[1]!.contracts.avsDirectory.optOut(avsId)).wait();
    await f.anvil.mine();
    const d = f.contracts.avsDirectory;
    const after = await d.quorumAt(avsId, receipt!.blockNumber);
    expect(after.apk.toObject(true)).toEqual(apkOf([3]));
    expect([after.totalStake, after.operatorCount]).toEqual([parseEther("30"), 1n]);
    expect((await d.memberAt(avsId, ops[1]!.operatorId, receipt!.blockNumber)).member).toBe(false);
    expect((await d.memberAt(avsId, ops[1]!.operatorId, receipt!.blockNumber - 1)).member).toBe(true);
    await expectRevert(d.nonSignerStakeAt(avsId, [ops[1]!.operatorId], receipt!.blockNumber), "NotAMember");
    await expectRevert(ops[1]!.contracts.avsDirectory.optOut(avsId), "NotOptedIn");
    expect(await d.avsIdsOf(ops[1]!.address)).toEqual([]);
  });
});
