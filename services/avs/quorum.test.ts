import { describe, expect, it } from "@jest/globals";
import { SecretKey } from "@chainsafe/blst";
import { keccak256, toUtf8Bytes } from "ethers";

import { operatorIdOf } from "../../contracts/client/index.js";
import type { Task } from "../../contracts/client/index.js";
import { fromHex } from "../core/hex.js";
import type { Member, OperatorSet } from "./chain.js";
import { encodeReason } from "./protocol.js";
import type { TaskResponseMessage } from "./protocol.js";
import { TaskCollector } from "./quorum.js";

const keys = [1, 2, 3, 4].map((i) => SecretKey.fromKeygen(new Uint8Array(32).fill(i)));
const members: Member[] = keys.map((sk, i) => ({
  address: `0x${String(i + 1).padStart(40, "0")}`,
  operatorId: operatorIdOf(sk.toPublicKey()).toLowerCase(),
  publicKey: sk.toPublicKey(),
  peerId: `peer-${i}`,
  stake: 10n,
}));
const operators: OperatorSet = { avsId: 1, block: 9, totalStake: 40n, members: new Map(members.map((m) => [m.operatorId, m])) };
const task = { taskId: 7n, avsId: 1n, referenceBlock: 9n, responseDeadline: 20n, quorumBps: 6_667n, totalStake: 40n, inputHash: keccak256("0x"), apk: { xHi: 0n, xLo: 0n, yHi: 0n, yLo: 0n } } as unknown as Task;
// Any 32 bytes bound to the result: the collector only needs signer and verifier to agree.
const digest = (resultHash: string) => fromHex(keccak256(resultHash), "digest");

function signed(i: number, text: string, signer = i): TaskResponseMessage {
  const result = toUtf8Bytes(text);
  const resultHash = keccak256(result);
  return {
    taskId: 7,
    operatorId: fromHex(members[i]!.operatorId, "id"),
    resultHash: fromHex(resultHash, "hash"),
    result,
    signature: keys[signer]!.sign(digest(resultHash)).toBytes(),
    error: new Uint8Array(),
  };
}

function failed(i: number, reason: string): TaskResponseMessage {
  return { taskId: 7, operatorId: fromHex(members[i]!.operatorId, "id"), resultHash: new Uint8Array(32), result: new Uint8Array(), signature: new Uint8Array(96), error: encodeReason(reason) };
}

describe("TaskCollector", () => {
  it("reaches the quorum with 3 of 4 equal stakes on one result; the rest are non-signers", () => {
    const c = new TaskCollector(task, operators, digest);
    expect(c.add(signed(0, "a"), "peer-0").kind).toBe("accepted");
    expect(c.add(signed(1, "b"), "peer-1").kind).toBe("accepted");
    expect(c.add(signed(2, "a"), "peer-2").kind).toBe("accepted");
    expect(c.quorum()).toBeNull(); // 20 of 40 < 66.67%
    expect(c.add(signed(3, "a"), "peer-3").kind).toBe("accepted");
    const quorum = c.quorum()!;
    expect(quorum.resultHash).toBe(keccak256(toUtf8Bytes("a")));
    expect(quorum.signedStake).toBe(30n);
    expect(quorum.signers.map((s) => s.member.peerId).sort()).toEqual(["peer-0", "peer-2", "peer-3"]);
    expect(quorum.nonSigners.map((m) => m.peerId)).toEqual(["peer-1"]);
  });

  it("refuses what does not prove itself", () => {
    const c = new TaskCollector(task, operators, digest);
    const outsider = { ...signed(0, "a"), operatorId: new Uint8Array(32).fill(9) };
    expect(c.add(outsider, "peer-0")).toMatchObject({ kind: "refused", reason: expect.stringContaining("not a member") });
    expect(c.add(signed(0, "a"), "peer-1")).toMatchObject({ kind: "refused", reason: expect.stringContaining("came from peer-1") });
    expect(c.add({ ...signed(0, "a"), result: toUtf8Bytes("other") }, "peer-0")).toMatchObject({ kind: "refused", reason: expect.stringContaining("keccak256") });
    expect(c.add(signed(0, "a", 1), "peer-0")).toMatchObject({ kind: "refused", reason: expect.stringContaining("does not verify") });
    expect(c.add({ ...signed(0, "a"), signature: new Uint8Array(96).fill(1) }, "peer-0").kind).toBe("refused");
    expect(c.responses.size).toBe(0);
  });

  it("turns two signed results of one operator into double-sign evidence, and ignores a repeat", () => {
    const c = new TaskCollector(task, operators, digest);
    expect(c.add(signed(0, "a"), "peer-0").kind).toBe("accepted");
    expect(c.add(signed(0, "a"), "peer-0").kind).toBe("duplicate");
    const outcome = c.add(signed(0, "b"), "peer-0");
    expect(outcome.kind).toBe("equivocation");
    if (outcome.kind !== "equivocation") return;
    expect(outcome.evidence.resultA).toBe(keccak256(toUtf8Bytes("a")));
    expect(outcome.evidence.resultB).toBe(keccak256(toUtf8Bytes("b")));
    expect(outcome.evidence.operatorId).toBe(members[0]!.operatorId);
    // Only the first result counts toward the quorum.
    expect(c.responses.get(members[0]!.operatorId)!.resultHash).toBe(keccak256(toUtf8Bytes("a")));
  });

  it("knows when no result can reach the quorum, and says why", () => {
    const c = new TaskCollector(task, operators, digest);
    expect(c.add(failed(0, "executor down"), "peer-0").kind).toBe("failure");
    expect(c.hopeless()).toBeNull(); // 30 of 40 may still agree
    expect(c.add(failed(1, "executor down"), "peer-1").kind).toBe("failure");
    expect(c.hopeless()).toBe("no result can reach the quorum of 66.67% of stake: 2 of 4 operators have no result (2 × executor down)");
    // A split is hopeless too, before anyone fails.
    const split = new TaskCollector(task, operators, digest);
    split.add(signed(0, "a"), "peer-0");
    split.add(signed(1, "b"), "peer-1");
    expect(split.hopeless()).toBeNull();
    split.add(signed(2, "c"), "peer-2");
    expect(split.hopeless()).toContain("results split 3 ways");
  });
});
