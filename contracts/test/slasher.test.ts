/**
 * Slashing on evidence checked on-chain (two conflicting signed responses, a lost challenge, a
 * signed result the final certificate contradicts), through the veto window, down to burned
 * stake and collateral.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { keccak256, parseEther, toUtf8Bytes } from "ethers";

import { aggregateResponse, challengeResponse, createTask, events, g2FromSignature, respondToTask, responseDigest, signResponse } from "../client/index.js";
import type { SlasherEvents, Task } from "../client/index.js";
import { ARBITER, TASK_WINDOWS, avsWithOperators, deployFixture, slashingParams } from "./fixture.js";
import type { AVSSetup, Fixture, Operator } from "./fixture.js";
import { SETUP_TIMEOUT_MS, expectRevert } from "./helpers.js";

const ETH = (n: number): bigint => parseEther(String(n));
const result = (text: string): string => keccak256(toUtf8Bytes(text));

describe("Slasher", () => {
  let f: Fixture;
  let avs: AVSSetup;
  let ops: Operator[];
  let vetoers: string[];

  beforeAll(async () => {
    f = await deployFixture();
    vetoers = await Promise.all([17, 18, 19].map(async (i) => (await f.anvil.signer(i)).getAddress()));
    avs = await avsWithOperators(f, [ETH(10), ETH(10), ETH(10)], {
      task: { quorumBps: 6_000 },
      // 10% of delegated stake, 50% of collateral; 2 of 3 vetoes cancel.
      slashing: slashingParams({ vetoCommittee: vetoers, vetoThreshold: 2 }),
    });
    ops = avs.operators;
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await f?.anvil.stop();
  });

  const digest = (task: Task, resultHash: string): Uint8Array =>
    responseDigest(f.chainId, f.contracts.addresses.taskManager, task.taskId, resultHash);
  const signedBy = (o: Operator, task: Task, resultHash: string) => g2FromSignature(signResponse(o.secretKey, digest(task, resultHash)));
  const newTask = async (): Promise<Task> => (await createTask(avs.taskCreator.taskManager, avs.avsId, toUtf8Bytes("job"))).task;

  const proposeDoubleSign = (o: Operator, task: Task, a: string, b: string) =>
    f.contracts.slasher.proposeDoubleSign(task, a, signedBy(o, task, a), b, signedBy(o, task, b), o.publicKey);

  it("slashes a double signer after the veto window: 10% of its stake and half its collateral, burned", async () => {
    const task = await newTask();
    const op = ops[0]!;
    const receipt = await (await proposeDoubleSign(op, task, result("1"), result("2"))).wait();
    const proposed = events<SlasherEvents>(f.contracts.slasher).one(receipt, "SlashProposed");
    expect(proposed.operator).toBe(op.address);
    expect(proposed.executableBlock).toBe(BigInt(receipt!.blockNumber + TASK_WINDOWS.vetoWindowBlocks));
    await expectRevert(proposeDoubleSign(op, task, result("1"), result("3")), "AlreadyProposed");
    await expectRevert(f.contracts.slasher.executeSlash(proposed.proposalId), "VetoWindowOpen");

    await f.anvil.mine(TASK_WINDOWS.vetoWindowBlocks);
    const supply = await f.contracts.divETH.totalSupply();
    const executed = events<SlasherEvents>(f.contracts.slasher).one(
      await (await f.contracts.slasher.executeSlash(proposed.proposalId)).wait(),
      "SlashExecuted",
    );
    expect(executed.stakeSlashed).toBe(ETH(1));
    expect(executed.collateralSlashed).toBe(ETH(1));
    expect(await f.contracts.delegationManager.stakeOf(op.address)).toBe(ETH(9));
    expect((await f.contracts.operatorRegistry.collateralOf(op.address)).collateral).toBe(ETH(1));
    expect(await f.contracts.divETH.totalSupply()).toBe(supply - ETH(2));
    await expectRevert(f.contracts.slasher.executeSlash(proposed.proposalId), "NotPending");
  });

  it("rejects evidence that proves nothing", async () => {
    const task = await newTask();
    const [a, b] = [ops[1]!, ops[2]!];
    await expectRevert(proposeDoubleSign(a, task, result("1"), result("1")), "NotConflicting");
    // One of the two signatures is someone else's.
    await expectRevert(
      f.contracts.slasher.proposeDoubleSign(task, result("1"), signedBy(a, task, result("1")), result("2"), signedBy(b, task, result("2")), a.publicKey),
      "InvalidEvidenceSignature",
    );
    await expectRevert(proposeDoubleSign(a, { ...task, referenceBlock: task.referenceBlock - 1n }, result("1"), result("2")), "UnknownTask");
    // Not a member of the AVS at the task's reference block: signatures of an outsider count for nothing.
    const earlier = await newTask();
    await (await a.contracts.avsDirectory.optOut(avs.avsId)).wait();
    const after = await newTask();
    await expectRevert(proposeDoubleSign(a, after, result("1"), result("2")), "NotAMember");
    // ...but still slashable for tasks from when it was a member.
    await (await proposeDoubleSign(a, earlier, result("1"), result("2"))).wait();
    await (await a.contracts.avsDirectory.optIn(avs.avsId)).wait();
  });

  it("cancels a slash vetoed by the committee's threshold within the window", async () => {
    const task = await newTask();
    const op = ops[2]!;
    const proposed = events<SlasherEvents>(f.contracts.slasher).one(
      await (await proposeDoubleSign(op, task, result("1"), result("2"))).wait(),
      "SlashProposed",
    );
    const [v1, v2] = await Promise.all([17, 18].map((i) => f.as(i)));
    await expectRevert(avs.taskCreator.slasher.veto(proposed.proposalId), "NotVetoer");
    const first = events<SlasherEvents>(f.contracts.slasher).one(await (await v1!.slasher.veto(proposed.proposalId)).wait(), "SlashVetoed");
    expect([first.vetoes, first.cancelled]).toEqual([1n, false]);
    await expectRevert(v1!.slasher.veto(proposed.proposalId), "AlreadyVetoed");
    const second = events<SlasherEvents>(f.contracts.slasher).one(await (await v2!.slasher.veto(proposed.proposalId)).wait(), "SlashVetoed");
    expect(second.cancelled).toBe(true);
    await f.anvil.mine(TASK_WINDOWS.vetoWindowBlocks);
    await expectRevert(f.contracts.slasher.executeSlash(proposed.proposalId), "NotPending");
    expect(await f.contracts.delegationManager.stakeOf(op.address)).toBe(ETH(10));
  });

  it("refuses vetoes after the window", async () => {
    const task = await newTask();
    const proposed = events<SlasherEvents>(f.contracts.slasher).one(
      await (await proposeDoubleSign(ops[1]!, task, result("1"), result("2"))).wait(),
      "SlashProposed",
    );
    await f.anvil.mine(TASK_WINDOWS.vetoWindowBlocks);
    await expectRevert((await f.as(19)).slasher.veto(proposed.proposalId), "VetoWindowClosed");
  });

  it("slashes the signers of a response whose challenge was upheld, not its non-signers", async () => {
    const task = await newTask();
    const [signer1, signer2, nonSigner] = [ops[0]!, ops[1]!, ops[2]!];
    const d = digest(task, result("wrong"));
    const { response, nonSignerIds } = await respondToTask(
      f.contracts.taskManager,
      task,
      result("wrong"),
      aggregateResponse([signResponse(signer1.secretKey, d), signResponse(signer2.secretKey, d)], [nonSigner.secretKey.toPublicKey()]),
    );
    const slasher = f.contracts.slasher;
    await expectRevert(slasher.proposeLostChallenge(task, response, nonSignerIds, signer1.address), "ChallengeNotUpheld");
    const challenger = await f.as(12);
    const bond = (await f.contracts.avsDirectory.taskParams(avs.avsId)).challengeBond;
    await challengeResponse(challenger.taskManager, task, response, bond);
    await (await (await f.as(ARBITER)).taskManager.resolveChallenge(task.taskId, true)).wait();

    await expectRevert(slasher.proposeLostChallenge(task, response, [], signer1.address), "NonSignersMismatch");
    await expectRevert(slasher.proposeLostChallenge(task, response, nonSignerIds, nonSigner.address), "OperatorDidNotSign");
    const proposed = events<SlasherEvents>(slasher).one(
      await (await slasher.proposeLostChallenge(task, response, nonSignerIds, signer2.address)).wait(),
      "SlashProposed",
    );
    expect(proposed.offence).toBe(1n);
    await f.anvil.mine(TASK_WINDOWS.vetoWindowBlocks);
    const before = await f.contracts.delegationManager.stakeOf(signer2.address);
    await (await slasher.executeSlash(proposed.proposalId)).wait();
    expect(await f.contracts.delegationManager.stakeOf(signer2.address)).toBe(before - before / 10n);
  });
  it("slashes an outvoted operator for the wrong result it signed, once the certificate is final", async () => {
    const task = await newTask();
    const [signer1, signer2, outvoted] = [ops[0]!, ops[1]!, ops[2]!];
    const d = digest(task, result("right"));
    const { response } = await respondToTask(
      f.contracts.taskManager,
      task,
      result("right"),
      aggregateResponse([signResponse(signer1.secretKey, d), signResponse(signer2.secretKey, d)], [outvoted.secretKey.toPublicKey()]),
    );
    const slasher = f.contracts.slasher;
    const propose = (resultHash: string, by: Operator = outvoted, key: Operator = outvoted) =>
      slasher.proposeContradiction(task, response, resultHash, signedBy(by, task, resultHash), key.publicKey);

    // Within the challenge window the certified result may yet be overturned.
    const [, , deadline] = await expectRevert(propose(result("wrong")), "NotFinal");
    expect(deadline).toBe(response.respondedBlock + BigInt(TASK_WINDOWS.challengeWindowBlocks));
    await f.anvil.mine(TASK_WINDOWS.challengeWindowBlocks);
    await expectRevert(propose(result("right"), signer1, signer1), "NotContradicting");
    await expectRevert(propose(result("wrong"), signer1), "InvalidEvidenceSignature");
    await expectRevert(slasher.proposeContradiction(task, { ...response, resultHash: result("wrong") }, result("right"), signedBy(outvoted, task, result("right")), outvoted.publicKey), "UnknownResponse");

    const receipt = await (await propose(result("wrong"))).wait();
    const proposed = events<SlasherEvents>(slasher).one(receipt, "SlashProposed");
    expect([proposed.operator, proposed.taskId, proposed.offence]).toEqual([outvoted.address, task.taskId, 2n]); // Offence.ContradictedCertificate
    await expectRevert(propose(result("wrong again")), "AlreadyProposed");
    // The same task and operator are slashed once, whatever the evidence.
    await expectRevert(
      slasher.proposeDoubleSign(task, result("wrong"), signedBy(outvoted, task, result("wrong")), result("right"), signedBy(outvoted, task, result("right")), outvoted.publicKey),
      "AlreadyProposed",
    );
    await f.anvil.mine(TASK_WINDOWS.vetoWindowBlocks);
    const before = await f.contracts.delegationManager.stakeOf(outvoted.address);
    await (await slasher.executeSlash(proposed.proposalId)).wait();
    expect(await f.contracts.delegationManager.stakeOf(outvoted.address)).toBe(before - before / 10n);
  });

  it("holds contradicting evidence while a challenge is open, and accepts it as soon as the challenge is rejected", async () => {
    const task = await newTask();
    const [signer1, signer2, outvoted] = [ops[0]!, ops[1]!, ops[2]!];
    const d = digest(task, result("right"));
    const { response } = await respondToTask(
      f.contracts.taskManager,
      task,
      result("right"),
      aggregateResponse([signResponse(signer1.secretKey, d), signResponse(signer2.secretKey, d)], [outvoted.secretKey.toPublicKey()]),
    );
    const propose = () => f.contracts.slasher.proposeContradiction(task, response, result("wrong"), signedBy(outvoted, task, result("wrong")), outvoted.publicKey);
    const bond = (await f.contracts.avsDirectory.taskParams(avs.avsId)).challengeBond;
    await challengeResponse((await f.as(12)).taskManager, task, response, bond);
    const [, status] = await expectRevert(propose(), "NotFinal");
    expect(status).toBe(1n); // ChallengeStatus.Open
    // Rejected, the certificate is final at once: there is one challenge per task.
    await (await (await f.as(ARBITER)).taskManager.resolveChallenge(task.taskId, false)).wait();
    const proposed = events<SlasherEvents>(f.contracts.slasher).one(await (await propose()).wait(), "SlashProposed");
    expect(proposed.operator).toBe(outvoted.address);
  });
});
