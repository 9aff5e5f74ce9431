/**
 * The AVS task flow end to end on anvil, with real libp2p on loopback: tasks created on-chain
 * are answered by the operators' workers, certified by the aggregator and verified on-chain;
 * a wrong result is outvoted and, once the certificate is final, slashed on that one signature;
 * a wrong result arriving after that is evidence at once; an equivocating operator's evidence
 * is accepted by the Slasher;
 * an executor that is down fails the task with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { keccak256, toUtf8Bytes } from "ethers";

import { createServer } from "node:http";
import type { Server } from "node:http";
import { Registry } from "prom-client";

import { challengeResponse, operatorIdOf } from "../../contracts/client/index.js";
import { hashChain } from "../../examples/sha256-avs/executor.js";
import { startGateway } from "../../services/avs/gateway.js";
import { TaskResponseProtocol, decodeReason } from "../../services/avs/protocol.js";
import { fromHex, toHex } from "../../services/core/hex.js";
import { createLogger } from "../../services/core/log/index.js";
import { ClusterHost } from "../../services/core/p2p/index.js";
import { deployAvsNetwork, runAvs, settled } from "../../services/avs/testing.js";
import type { AvsNetwork, AvsOperator, RunningAvs } from "../../services/avs/testing.js";

const SETUP_MS = 180_000;
const TEST_MS = 120_000;

describe("AVS task flow", () => {
  let net: AvsNetwork;

  beforeAll(async () => {
    net = await deployAvsNetwork({ operators: 5 });
  }, SETUP_MS);
  afterAll(async () => {
    await net?.stop();
  });

  it("certifies a task answered by every operator, and the certificate verifies on-chain", async () => {
    const avs = await runAvs(net);
    try {
      const input = toUtf8Bytes("hello nektar");
      const created = await net.creator.createTask(net.avsId, input);
      const record = await settled(avs.aggregator, Number(created.taskId));
      expect(record.reason).toBeUndefined();
      expect(record.state).toBe("certified");
      const expected = toHex(hashChain(input, 10));
      expect(record.certificate!.result).toBe(expected);
      expect(record.certificate!.resultHash).toBe(keccak256(expected));
      const onChain = await net.creator.findResponse(Number(created.taskId));
      expect(onChain).not.toBeNull();
      expect(onChain!.response.resultHash).toBe(keccak256(expected));
      expect(await net.creator.taskManager.isResponse(onChain!.response)).toBe(true);
      expect(onChain!.response.signedStake * 10_000n).toBeGreaterThanOrEqual(BigInt(record.totalStake) * 6_667n);
      expect(record.certificate!.nonSignerIds).toEqual(onChain!.nonSignerIds.map((id) => id.toLowerCase()));

      // Unchallenged past its window, the certificate is final.
      expect(record.certificate!.challenge).toBe("none");
      await net.f.anvil.mine(record.certificate!.challengeDeadline - record.certificate!.respondedBlock + 1);
      await waitFor(() => avs.aggregator.task(Number(created.taskId))!.certificate!.challenge === "final");
    } finally {
      await avs.stop();
    }
  }, TEST_MS);

  it("follows the certificate's challenge window: challenged, then upheld by the arbiter", async () => {
    const avs = await runAvs(net);
    try {
      const created = await net.creator.createTask(net.avsId, toUtf8Bytes("challenge me"));
      const taskId = Number(created.taskId);
      const record = await settled(avs.aggregator, taskId);
      expect(record.certificate!.challenge).toBe("none");
      const params = await net.creator.taskParams(net.avsId);
      expect(record.certificate!.challengeDeadline).toBe(record.certificate!.respondedBlock + Number(params.challengeWindowBlocks));

      const responded = (await net.creator.findResponse(taskId))!;
      const challenger = await net.f.as(18);
      await challengeResponse(challenger.taskManager, created.task, responded.response, params.challengeBond);
      await waitFor(() => avs.aggregator.task(taskId)!.certificate!.challenge === "open");
      const arbiter = await net.f.as(16);
      await (await arbiter.taskManager.resolveChallenge(taskId, true)).wait();
      await waitFor(() => avs.aggregator.task(taskId)!.certificate!.challenge === "upheld");
    } finally {
      await avs.stop();
    }
  }, TEST_MS);

  it("outvotes an operator returning a wrong result; once the certificate is final, that one signed result is evidence the Slasher accepts and executes", async () => {
    const avs = await runAvs(net, { corrupt: [0], submitEvidence: true });
    const faulty = net.operators[0]!;
    const faultyId = avs.workers[0]!.operatorId;
    try {
      const input = toUtf8Bytes("outvote me");
      const created = await net.creator.createTask(net.avsId, input);
      const taskId = Number(created.taskId);
      const record = await settled(avs.aggregator, taskId);
      expect(record.state).toBe("certified");
      const honest = toHex(hashChain(input, 10));
      expect(record.certificate!.result).toBe(honest);
      expect(record.certificate!.signers).not.toContain(faultyId);
      expect(record.certificate!.nonSignerIds).toContain(faultyId);
      const onChain = (await net.creator.findResponse(taskId))!;
      expect(onChain.response.resultHash).toBe(keccak256(honest));

      // The faulty operator signed only its wrong result (it may land after the certificate).
      await waitFor(() => avs.aggregator.task(taskId)!.responses.some((r) => r.operatorId === faultyId));
      const wrong = avs.aggregator.task(taskId)!.responses.find((r) => r.operatorId === faultyId)!;
      expect(wrong.resultHash).not.toBe(keccak256(honest));
      expect(wrong.counted).toBe(false);
      // While the certificate can still be challenged, its result may yet be the wrong one.
      expect(avs.aggregator.task(taskId)!.evidence).toEqual([]);

      await net.f.anvil.mine(record.certificate!.challengeDeadline - record.certificate!.respondedBlock + 1);
      await waitFor(() => avs.aggregator.task(taskId)!.evidence.some((e) => e.proposalId !== undefined || e.submitError !== undefined));
      const evidence = avs.aggregator.task(taskId)!.evidence;
      expect(evidence).toHaveLength(1);
      const [contradiction] = evidence;
      if (contradiction?.kind !== "contradiction") throw new Error(`expected contradiction evidence, got ${contradiction?.kind}`);
      expect(contradiction.submitError).toBeUndefined();
      expect(contradiction.operatorId).toBe(faultyId);
      expect(contradiction.resultHash).toBe(wrong.resultHash);
      expect(contradiction.signature).toBe(wrong.signature);
      expect(contradiction.certifiedResultHash).toBe(keccak256(honest));

      const slasher = net.f.contracts.slasher;
      const proposalId = BigInt(contradiction.proposalId!);
      const proposal = await slasher.proposal(proposalId);
      expect(proposal.operator).toBe(faulty.address);
      expect(Number(proposal.taskId)).toBe(taskId);
      expect(Number(proposal.status)).toBe(1); // ProposalStatus.Pending
      expect(Number(proposal.offence)).toBe(2); // Offence.ContradictedCertificate
      await net.f.anvil.mine(Math.max(1, Number(proposal.executableBlock) - (await net.f.anvil.blockNumber())));
      const stake = await net.f.contracts.delegationManager.stakeOf(faulty.address);
      await (await slasher.executeSlash(proposalId)).wait();
      expect(Number((await slasher.proposal(proposalId)).status)).toBe(3); // ProposalStatus.Executed
      expect(await net.f.contracts.delegationManager.stakeOf(faulty.address)).toBe(stake - stake / 10n);
    } finally {
      await avs.stop();
    }
  }, TEST_MS);

  it("keeps an operator's two signed results for one task as double-sign evidence the Slasher accepts", async () => {
    const avs = await runAvs(net, { corrupt: [0], submitEvidence: true });
    const faulty = net.operators[0]!;
    const faultyId = avs.workers[0]!.operatorId;
    try {
      const input = toUtf8Bytes("equivocate");
      const created = await net.creator.createTask(net.avsId, input);
      const taskId = Number(created.taskId);
      const honest = toHex(hashChain(input, 10));
      expect((await settled(avs.aggregator, taskId)).certificate!.result).toBe(honest);
      await waitFor(() => avs.aggregator.task(taskId)!.responses.some((r) => r.operatorId === faultyId));
      const wrong = avs.aggregator.task(taskId)!.responses.find((r) => r.operatorId === faultyId)!;

      // The same operator now signs the honest result too: two results, one task.
      await avs.workers[0]!.stop();
      await respondAs(net, avs, faulty, taskId, honest);
      await waitFor(() => avs.aggregator.task(taskId)!.evidence.some((e) => e.proposalId !== undefined || e.submitError !== undefined));
      const [evidence] = avs.aggregator.task(taskId)!.evidence;
      if (evidence?.kind !== "double-sign") throw new Error(`expected double-sign evidence, got ${evidence?.kind}`);
      expect(evidence.submitError).toBeUndefined();
      expect(evidence.operatorId).toBe(faultyId);
      expect(new Set([evidence.resultA, evidence.resultB])).toEqual(new Set([wrong.resultHash, keccak256(honest)]));
      const proposal = await net.f.contracts.slasher.proposal(BigInt(evidence.proposalId!));
      expect(proposal.operator).toBe(faulty.address);
      expect(Number(proposal.taskId)).toBe(taskId);
      expect(Number(proposal.status)).toBe(1); // ProposalStatus.Pending: executable after the veto window
      expect(Number(proposal.offence)).toBe(0); // Offence.DoubleSign
    } finally {
      await avs.stop();
    }
  }, TEST_MS);

  it("takes a wrong result arriving after the certificate is final as contradiction evidence at once", async () => {
    // The last operator runs no worker: its response is sent by hand, late.
    const avs = await runAvs(net, { workers: net.operators.length - 1, submitEvidence: true });
    const late = net.operators[net.operators.length - 1]!;
    try {
      const created = await net.creator.createTask(net.avsId, toUtf8Bytes("too late"));
      const taskId = Number(created.taskId);
      const record = await settled(avs.aggregator, taskId);
      await net.f.anvil.mine(record.certificate!.challengeDeadline - record.certificate!.respondedBlock + 1);
      await waitFor(() => avs.aggregator.task(taskId)!.certificate!.challenge === "final");
      expect(avs.aggregator.task(taskId)!.evidence).toEqual([]);

      const wrong = toHex(toUtf8Bytes("not the hash chain"));
      await respondAs(net, avs, late, taskId, wrong);
      await waitFor(() => avs.aggregator.task(taskId)!.evidence.some((e) => e.proposalId !== undefined || e.submitError !== undefined));
      const [evidence] = avs.aggregator.task(taskId)!.evidence;
      if (evidence?.kind !== "contradiction") throw new Error(`expected contradiction evidence, got ${evidence?.kind}`);
      expect(evidence.submitError).toBeUndefined();
      expect(evidence.resultHash).toBe(keccak256(wrong));
      const proposal = await net.f.contracts.slasher.proposal(BigInt(evidence.proposalId!));
      expect([proposal.operator, Number(proposal.taskId), Number(proposal.offence)]).toEqual([late.address, taskId, 2]);
    } finally {
      await avs.stop();
    }
  }, TEST_MS);

  it("fails a task clearly when the executor does not answer within its timeout", async () => {
    // An executor that accepts connections and never answers.
    const hanging: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", () => resolve()));
    const address = hanging.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const avs = await runAvs(net, { executorUrl: `http://127.0.0.1:${port}/execute`, executorTimeoutMs: 1_000, executorRetries: 1, aggregatorHttp: true });
    const gateway = await startGateway(
      { chain: net.creator, aggregatorUrl: avs.aggregator.url!, apiKeys: [], rateLimit: { max: 1_000, windowMs: 60_000 }, logger: createLogger("avs-gateway") },
      { host: "127.0.0.1", port: 0 },
    );
    try {
      const created = await net.creator.createTask(net.avsId, toUtf8Bytes("nobody home"));
      const taskId = Number(created.taskId);
      const record = await settled(avs.aggregator, taskId);
      expect(record.state).toBe("failed");
      expect(record.reason).toContain("no result can reach the quorum");
      expect(record.reason).toContain("no answer within 1000 ms");
      expect(record.failures.length).toBeGreaterThanOrEqual(2);
      expect(record.certificate).toBeUndefined();
      expect(await net.creator.findResponse(taskId)).toBeNull();
      // What the AVS team reads over REST.
      const status = (await (await fetch(`${gateway.url}/v1/tasks/${taskId}`)).json()) as { state: string; reason: string };
      expect(status.state).toBe("failed");
      expect(status.reason).toBe(record.reason);
      expect((await fetch(`${gateway.url}/v1/tasks/${taskId}/certificate`)).status).toBe(404);
    } finally {
      await gateway.close();
      await avs.stop();
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  }, TEST_MS);
});

/** Sends `operator`'s signed `result` (0x-hex) for `taskId` to the aggregator, as its worker would. */
async function respondAs(net: AvsNetwork, avs: RunningAvs, operator: AvsOperator, taskId: number, result: string): Promise<void> {
  const host = new ClusterHost({
    identity: operator.identity,
    operators: [
      { name: "operator", peerId: operator.identity.peerId.toString(), multiaddrs: [] },
      { name: "aggregator", peerId: avs.aggregator.peerId, multiaddrs: avs.aggregator.multiaddrs.map((a) => a.replace(/\/p2p\/[^/]+$/, "")) },
    ],
    listen: ["/ip4/127.0.0.1/tcp/0"],
    registry: new Registry(),
  });
  await host.start();
  try {
    const resultHash = keccak256(result);
    const ack = await host.send(avs.aggregator.peerId, TaskResponseProtocol, {
      taskId,
      operatorId: fromHex(operatorIdOf(operator.secretKey.toPublicKey()), "operator id"),
      resultHash: fromHex(resultHash, "hash"),
      result: fromHex(result, "result"),
      signature: operator.secretKey.sign(net.creator.digest(taskId, resultHash)).toBytes(),
      error: new Uint8Array(),
    });
    expect(decodeReason(ack.reason)).toBe("");
    expect(ack.accepted).toBe(true);
  } finally {
    await host.stop();
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
