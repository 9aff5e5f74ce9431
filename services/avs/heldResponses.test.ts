import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { HeldResponses } from "./heldResponses.js";
import type { HeldResponse } from "./heldResponses.js";
import { encodeReason } from "./protocol.js";

const chain = { chainId: 31337, taskManager: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };

const signed = (taskId: number, fill: number): HeldResponse => ({
  message: {
    taskId,
    operatorId: new Uint8Array(32).fill(fill),
    resultHash: new Uint8Array(32).fill(fill + 1),
    result: new Uint8Array([1, 2, 3, fill]),
    signature: new Uint8Array(96).fill(fill + 2),
    error: new Uint8Array(),
  },
  from: "16Uiu2HAmQ5bZbLJ3p5Xy9y1V8Y3m6ZsTyRkX6uM5zH2dGqgk7wJx",
  receivedAt: new Date("2026-11-21T07:00:00.123Z"),
});

const failure = (taskId: number, fill: number): HeldResponse => ({
  ...signed(taskId, fill),
  message: { ...signed(taskId, fill).message, resultHash: new Uint8Array(32), result: new Uint8Array(), signature: new Uint8Array(96), error: encodeReason("executor timed out") },
});

describe("HeldResponses (the aggregator's record)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-avs-held-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("gives back, after a reopen, the messages of tasks not released, byte for byte", async () => {
    const dataDir = join(dir, "aggregator");
    const first = await HeldResponses.open({ ...chain, dataDir });
    expect(first.stored).toEqual([]);
    first.held.hold(signed(7, 1));
    first.held.hold(failure(7, 4));
    first.held.hold(signed(8, 9));
    await first.held.save();
    await first.held.release(8);

    const second = await HeldResponses.open({ ...chain, dataDir });
    expect(second.stored).toEqual([signed(7, 1), failure(7, 4)]);
    // What was stored is input to replay, not held again until replayed.
    await second.held.save();
    expect((await HeldResponses.open({ ...chain, dataDir })).stored).toEqual([]);
  });

  it("is empty and writes nothing without a data dir", async () => {
    const { held, stored } = await HeldResponses.open(chain);
    held.hold(signed(7, 1));
    await held.save();
    expect(stored).toEqual([]);
  });

  it("refuses another chain's record and a message that is not one, naming the file and entry", async () => {
    const dataDir = join(dir, "aggregator");
    const { held } = await HeldResponses.open({ ...chain, dataDir });
    held.hold(signed(7, 1));
    await held.save();
    const path = join(dataDir, "held-responses.json");
    await expect(HeldResponses.open({ ...chain, dataDir, taskManager: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" })).rejects.toThrow(
      `AVS aggregator record ${path} belongs to taskManager 0x5fbdb2315678afecb367f032d93f642f64180aa3, this aggregator's is 0xe7f1725e7734ce288f8367e1bb143e90bb3f0512`,
    );
    const text = await readFile(path, "utf8");
    await writeFile(path, text.replace(/"message":"0x[0-9a-f]+"/, `"message":"0x0700"`));
    await expect(HeldResponses.open({ ...chain, dataDir })).rejects.toThrow(`AVS aggregator record ${path}: /held/0/message: not a task response`);
    await writeFile(path, text.replace(`"taskId":7`, `"taskId":9`));
    await expect(HeldResponses.open({ ...chain, dataDir })).rejects.toThrow(`AVS aggregator record ${path}: /held/0: the message is for task 7, not 9`);
  });
});
