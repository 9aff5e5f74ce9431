import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { NektarError } from "../core/errors.js";
import { SignedTasks } from "./signedTasks.js";
import type { SignedResponse } from "./signedTasks.js";

const owner = { chainId: 31337, taskManager: "0x5FbDB2315678afecb367f032d93F642f64180aa3", avsId: 1, operatorId: `0x${"ab".repeat(32)}` };

const response = (taskId: number, block: number, fill: string): SignedResponse => ({
  taskId,
  block,
  responseDeadline: block + 50,
  resultHash: `0x${fill.repeat(32)}`,
  result: `0x${fill.repeat(5)}`,
  signature: `0x${fill.repeat(96)}`,
});

describe("SignedTasks (the worker's record)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-avs-signed-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the first response of a task: a second one for it is never recorded", async () => {
    const record = await SignedTasks.open(owner);
    expect(record.durable).toBe(false);
    const first = response(7, 100, "11");
    expect(record.add(first)).toBe(first);
    expect(record.add(response(7, 100, "22"))).toBe(first);
    expect(record.get(7)).toBe(first);
    expect(record.get(8)).toBeUndefined();
  });

  it("survives a reopen from its data dir: responses, processed block, owner-only file", async () => {
    const dataDir = join(dir, "worker");
    const record = await SignedTasks.open({ ...owner, dataDir });
    expect(record.durable).toBe(true);
    expect(record.processedBlock).toBeUndefined();
    record.add(response(7, 100, "11"));
    record.add(response(8, 105, "22"));
    record.advance(103, 103);
    await record.save();
    const path = join(dataDir, "signed-tasks-1.json");
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const reopened = await SignedTasks.open({ ...owner, dataDir });
    expect(reopened.processedBlock).toBe(103);
    expect(reopened.get(7)).toEqual(response(7, 100, "11"));
    expect(reopened.get(8)).toEqual(response(8, 105, "22"));
    // Re-sent at start: open tasks up to the processed block (task 8's block is scanned again).
    expect(reopened.openAt(120).map((r) => r.taskId)).toEqual([7]);
    expect(reopened.openAt(151)).toEqual([]);
  });

  it("forgets a response once its window has been closed for 64 blocks, and only then", async () => {
    const record = await SignedTasks.open(owner);
    record.add(response(7, 100, "11")); // deadline 150
    expect(record.advance(200, 214)).toBe(true);
    expect(record.get(7)).toBeDefined();
    expect(record.advance(200, 214)).toBe(false);
    expect(record.advance(200, 215)).toBe(true);
    expect(record.get(7)).toBeUndefined();
    expect(record.processedBlock).toBe(200);
  });

  it("refuses another operator's, AVS's or chain's record, and a damaged file, naming the file", async () => {
    const dataDir = join(dir, "worker");
    const record = await SignedTasks.open({ ...owner, dataDir });
    record.add(response(7, 100, "11"));
    await record.save();
    const path = join(dataDir, "signed-tasks-1.json");
    await expect(SignedTasks.open({ ...owner, dataDir, operatorId: `0x${"cd".repeat(32)}` })).rejects.toThrow(
      `AVS worker record ${path} belongs to operatorId 0x${"ab".repeat(32)}, this worker's is 0x${"cd".repeat(32)}`,
    );
    await expect(SignedTasks.open({ ...owner, dataDir, chainId: 1 })).rejects.toThrow("belongs to chainId 31337, this worker's is 1");
    // Another AVS has its own file in the same folder.
    expect((await SignedTasks.open({ ...owner, dataDir, avsId: 2 })).get(7)).toBeUndefined();

    const text = await readFile(path, "utf8");
    await writeFile(path, text.replace(`"signature":"0x${"11".repeat(96)}"`, `"signature":"0x11"`));
    await expect(SignedTasks.open({ ...owner, dataDir })).rejects.toThrow(new RegExp(`^AVS worker record ${path}: /signed/0/signature: `));
    await writeFile(path, text.slice(0, 40));
    const error = await SignedTasks.open({ ...owner, dataDir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NektarError);
    expect((error as Error).message).toContain(`AVS worker record ${path}: not JSON`);
  });
});
