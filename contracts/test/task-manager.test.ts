/**
 * Tasks end to end on anvil: created by the AVS, signed by the operators with blst, aggregated
 * and verified on-chain through the EIP-2537 precompiles; every way a response can be wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { aggregatePublicKeys } from "@chainsafe/blst";
import type { Signature } from "@chainsafe/blst";
import { hexlify, keccak256, parseEther, toUtf8Bytes } from "ethers";

import {
  aggregateResponse,
  challengeResponse,
  createTask,
  g1FromPublicKey,
  g2FromSignature,
  onTaskCreated,
  respondToTask,
  responseDigest,
  signResponse,
} from "../client/index.js";
import type { Mined, NektarContracts, Task, TaskCreated } from "../client/index.js";
import { AVS_OWNER, TASK_WINDOWS, WITHDRAWAL_DELAY_BLOCKS, avsWithOperators, deployFixture, makeOperator } from "./fixture.js";
import type { AVSSetup, Fixture, Operator } from "./fixture.js";
import { SETUP_TIMEOUT_MS, expectRevert } from "./helpers.js";

const ETH = (n: number): bigint => parseEther(String(n));
const result = (text: string): string => keccak256(toUtf8Bytes(text));

describe("TaskManager", () => {
  let f: Fixture;
  let avs: AVSSetup;
  let ops: Operator[];
  /** Everyone opted in now (a later test adds an operator). */
  let members: Operator[];

  beforeAll(async () => {
    f = await deployFixture();
    // Total 50 ETH; quorum 66.67%.
    avs = await avsWithOperators(f, [ETH(10), ETH(10), ETH(10), ETH(10), ETH(5), ETH(5)]);
    ops = avs.operators;
    members = [...ops];
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await f?.anvil.stop();
  });

  const newTask = async (input = "square 7", referenceBlock?: number): Promise<Mined<TaskCreated>> =>
    createTask(avs.taskCreator.taskManager, avs.avsId, toUtf8Bytes(input), referenceBlock);

  const sign = (task: Task, resultHash: string, signers: Operator[]): Signature[] => {
    const digest = responseDigest(f.chainId, f.contracts.addresses.taskManager, task.taskId, resultHash);
    return signers.map((o) => signResponse(o.secretKey, digest));
  };

  const respond = (task: Task, resultHash: string, signers: Operator[], nonSigners: Operator[]) =>
    respondToTask(
      f.contracts.taskManager,
      task,
      resultHash,
      aggregateResponse(sign(task, resultHash, signers), nonSigners.map((o) => o.secretKey.toPublicKey())),
    );

  it("computes the same digest off-chain as on-chain", async () => {
    const digest = responseDigest(f.chainId, f.contracts.addresses.taskManager, 42, result("x"));
    expect(await f.contracts.taskManager.responseDigest(42, result("x"))).toBe(hexlify(digest));
  });

  it("creates a task for its AVS's task creator only, with an event workers can follow", async () => {
    const heard: TaskCreated[] = [];
    const unsubscribe = onTaskCreated(f.contracts.taskManager, (e) => heard.push(e), avs.avsId);
    const created = await newTask("square 7");
    expect(created.task.avsId).toBe(avs.avsId);
    expect(created.task.inputHash).toBe(keccak256(toUtf8Bytes("square 7")));
    expect(created.input).toBe(hexlify(toUtf8Bytes("square 7")));
    expect(created.task.referenceBlock).toBe(BigInt(created.receipt.blockNumber - 1));
    for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await unsubscribe();
    expect(heard.map((e) => e.taskId)).toEqual([created.taskId]);
    await expectRevert(ops[0]!.contracts.taskManager.createTask(avs.avsId, "0x", 1), "NotTaskCreator");
    const now = await f.anvil.blockNumber();
    await expectRevert(avs.taskCreator.taskManager.createTask(avs.avsId, "0x", now + 1), "FutureReferenceBlock");
  });

  it("accepts a response signed by every operator, and one without a stake minority", async () => {
    const { task } = await newTask();
    const all = await respond(task, result("49"), ops, []);
    expect(all.response.signedStake).toBe(ETH(50));
    expect(task.totalStake).toBe(ETH(50));
    // The task carries the quorum's aggregate key: blst's aggregate of the members' keys.
    expect(task.apk).toEqual(g1FromPublicKey(aggregatePublicKeys(ops.map((o) => o.secretKey.toPublicKey()))));
    expect(all.nonSignerIds).toEqual([]);
    expect(await f.contracts.taskManager.isResponse(all.response)).toBe(true);
    await expectRevert(respond(task, result("49"), ops, []), "AlreadyResponded");

    const second = (await newTask()).task;
    const partial = await respond(second, result("49"), ops.slice(0, 4), ops.slice(4));
    expect(partial.response.signedStake).toBe(ETH(40));
    expect(partial.nonSignerIds).toEqual([ops[4]!.operatorId, ops[5]!.operatorId].sort());
  });

  it("rejects a forged signature: another result, or a non-signer left out of the list", async () => {
    const { task } = await newTask();
    // Signed "48", submitted as "49".
    const forged = aggregateResponse(sign(task, result("48"), ops), []);
    await expectRevert(f.contracts.taskManager.respondToTask(task, result("49"), [], forged.signature), "InvalidSignature");
    // Operator 6 did not sign but is not named: the aggregate key includes a key that did not sign.
    const missing = aggregateResponse(sign(task, result("49"), ops.slice(0, 5)), []);
    await expectRevert(f.contracts.taskManager.respondToTask(task, result("49"), [], missing.signature), "InvalidSignature");
    // A single operator's signature is not the quorum's.
    const one = g2FromSignature(sign(task, result("49"), ops.slice(0, 1))[0]!);
    await expectRevert(f.contracts.taskManager.respondToTask(task, result("49"), [], one), "InvalidSignature");
  });

  it("rejects a response below quorum", async () => {
    const { task } = await newTask();
    // 30 of 50 ETH signed: 60% < 66.67%.
    const args = await expectRevert(respond(task, result("49"), ops.slice(0, 2).concat(ops.slice(4)), ops.slice(2, 4)), "QuorumNotReached");
    expect(args.slice(0, 2)).toEqual([ETH(30), ETH(50)]);
  });

  it("rejects non-signers that are unsorted, repeated, or not members at the reference block", async () => {
    const { task } = await newTask();
    const signatures = sign(task, result("49"), ops.slice(0, 4));
    const sorted = aggregateResponse(signatures, ops.slice(4).map((o) => o.secretKey.toPublicKey()));
    const tm = f.contracts.taskManager;
    await expectRevert(tm.respondToTask(task, result("49"), [...sorted.nonSignerKeys].reverse(), sorted.signature), "NonSignersNotSorted");
    await expectRevert(tm.respondToTask(task, result("49"), [sorted.nonSignerKeys[0]!, sorted.nonSignerKeys[0]!], sorted.signature), "NonSignersNotSorted");
    // An operator that joined after the reference block cannot be subtracted from the aggregate.
    const late = await makeOperator(f, 7, { stake: ETH(1) });
    await (await late.contracts.avsDirectory.optIn(avs.avsId)).wait();
    members.push(late);
    const withLate = aggregateResponse(signatures, [...ops.slice(4), late].map((o) => o.secretKey.toPublicKey()));
    await expectRevert(tm.respondToTask(task, result("49"), withLate.nonSignerKeys, withLate.signature), "NotAMember");
    // Judged by the stake at the reference block: the late operator is not in this task's totals.
    const accepted = await respondToTask(tm, task, result("49"), sorted);
    expect([accepted.response.signedStake, task.totalStake]).toEqual([ETH(40), ETH(50)]);
  });

  it("rejects a stale stake snapshot: once the withdrawal delay has passed the reference block", async () => {
    await f.anvil.mine(WITHDRAWAL_DELAY_BLOCKS);
    const now = await f.anvil.blockNumber();
    // The oldest reference block allowed is within the delay; its stake may be withdrawn soon.
    const { task } = await newTask("old", now - (WITHDRAWAL_DELAY_BLOCKS - 3));
    await f.anvil.mine(3);
    const args = await expectRevert(respond(task, result("49"), members, []), "StaleStakeSnapshot");
    expect(args[2]).toBe(BigInt(WITHDRAWAL_DELAY_BLOCKS));
    await expectRevert(newTask("older", now - WITHDRAWAL_DELAY_BLOCKS), "StaleStakeSnapshot");
  });

  it("rejects a late response and a task that was not created", async () => {
    const { task } = await newTask();
    await f.anvil.mine(TASK_WINDOWS.responseWindowBlocks);
    await expectRevert(respond(task, result("49"), members, []), "ResponseWindowClosed");
    await expectRevert(respond({ ...task, quorumBps: 1n }, result("49"), members, []), "UnknownTask");
  });

  it("refuses tasks while the AVS has too few operators or too little stake", async () => {
    const creator = await (await f.anvil.signer(15)).getAddress();
    const owner = await f.as(AVS_OWNER);
    const strict = async (minOperators: number, minTotalStake: bigint): Promise<bigint> => {
      const receipt = await (
        await owner.avsDirectory.registerAVS(0, {
          taskCreator: creator, arbiter: creator, quorumBps: 5000, minOperators, minTotalStake,
          responseWindowBlocks: 5, challengeWindowBlocks: 5, resolutionWindowBlocks: 5, challengeBond: 0,
        }, { stakeBps: 0, collateralBps: 0, vetoWindowBlocks: 0, vetoThreshold: 0, vetoCommittee: [] }, "")
      ).wait();
      return owner.avsDirectory.interface.parseLog(receipt!.logs[0]!)!.args.avsId as bigint;
    };
    const fewOps = await strict(2, 0n);
    await (await ops[0]!.contracts.avsDirectory.optIn(fewOps)).wait();
    await f.anvil.mine();
    await expectRevert(createTask(avs.taskCreator.taskManager, fewOps, "0x"), "TooFewOperators");
    const littleStake = await strict(1, ETH(1000));
    await (await ops[0]!.contracts.avsDirectory.optIn(littleStake)).wait();
    await f.anvil.mine();
    await expectRevert(createTask(avs.taskCreator.taskManager, littleStake, "0x"), "InsufficientTotalStake");
  });

  describe("challenges", () => {
    let challenger: NektarContracts;
    let challengerAddress: string;
    const bond = ETH(1);

    beforeAll(async () => {
      challenger = await f.as(12);
      challengerAddress = await (await f.anvil.signer(12)).getAddress();
    });

    const answered = async () => {
      const { task } = await newTask();
      const { response } = await respond(task, result("wrong"), members, []);
      return { task, response };
    };

    it("takes a challenge within the window with exactly the bond, once", async () => {
      const { task, response } = await answered();
      await expectRevert(challengeResponse(challenger.taskManager, task, response, bond - 1n), "WrongBond");
      await expectRevert(challengeResponse(challenger.taskManager, task, { ...response, resultHash: result("other") }, bond), "UnknownResponse");
      await challengeResponse(challenger.taskManager, task, response, bond);
      await expectRevert(challengeResponse(challenger.taskManager, task, response, bond), "AlreadyChallenged");
      expect(await f.contracts.taskManager.challengeStatus(task.taskId)).toBe(1n);
    });

    it("rejects a late challenge", async () => {
      const { task, response } = await answered();
      await f.anvil.mine(TASK_WINDOWS.challengeWindowBlocks);
      await expectRevert(challengeResponse(challenger.taskManager, task, response, bond), "ChallengeWindowClosed");
    });

    it("lets only the arbiter resolve: upheld returns the bond, rejected pays it to the AVS owner", async () => {
      const upheld = await answered();
      await challengeResponse(challenger.taskManager, upheld.task, upheld.response, bond);
      await expectRevert(challenger.taskManager.resolveChallenge(upheld.task.taskId, true), "NotArbiter");
      await (await avs.arbiter.taskManager.resolveChallenge(upheld.task.taskId, true)).wait();
      expect(await f.contracts.taskManager.challengeStatus(upheld.task.taskId)).toBe(2n);
      expect(await f.contracts.taskManager.bondCredits(challengerAddress)).toBe(bond);
      await expectRevert(avs.arbiter.taskManager.resolveChallenge(upheld.task.taskId, false), "NoOpenChallenge");

      const rejected = await answered();
      await challengeResponse(challenger.taskManager, rejected.task, rejected.response, bond);
      await (await avs.arbiter.taskManager.resolveChallenge(rejected.task.taskId, false)).wait();
      const owner = await (await f.anvil.signer(AVS_OWNER)).getAddress();
      expect(await f.contracts.taskManager.bondCredits(owner)).toBe(bond);

      const before = await f.anvil.provider.getBalance(challengerAddress);
      const receipt = await (await challenger.taskManager.withdrawBond()).wait();
      expect((await f.anvil.provider.getBalance(challengerAddress)) - before + receipt!.gasUsed * receipt!.gasPrice).toBe(bond);
      await expectRevert(challenger.taskManager.withdrawBond(), "NothingToWithdraw");
    });

    it("returns the bond when the arbiter does not decide in time", async () => {
      const { task, response } = await answered();
      await challengeResponse(challenger.taskManager, task, response, bond);
      await expectRevert(challenger.taskManager.expireChallenge(task.taskId), "ResolutionWindowOpen");
      await f.anvil.mine(TASK_WINDOWS.resolutionWindowBlocks + 1);
      await expectRevert(avs.arbiter.taskManager.resolveChallenge(task.taskId, true), "ResolutionWindowClosed");
      await (await challenger.taskManager.expireChallenge(task.taskId)).wait();
      expect(await f.contracts.taskManager.bondCredits(challengerAddress)).toBe(bond);
    });
  });

  it("names the public key encoding the contracts use (EIP-2537 words) consistently with the registry", async () => {
    expect((await f.contracts.operatorRegistry.publicKeyOf(ops[0]!.address)).toObject(true)).toEqual(
      g1FromPublicKey(ops[0]!.secretKey.toPublicKey()),
    );
  });
});
