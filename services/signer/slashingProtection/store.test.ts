import { describe, expect, it } from "@jest/globals";
import { transformFile } from "@swc/core";
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { SlashingProtectionError, type SlashingProtectionReason } from "./errors.js";
import { FileSlashingProtection, LOG_FILE, type OpenOptions } from "./store.js";

const GVR = new Uint8Array(32).fill(7);
const KEY = new Uint8Array(48).fill(0xa1);
const OTHER_KEY = new Uint8Array(48).fill(0xb2);
const root = (n: number) => new Uint8Array(32).fill(n);
const att = (sourceEpoch: number, targetEpoch: number, r = 1) => ({ sourceEpoch, targetEpoch, signingRoot: root(r) });

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), "nektar-sp-"));
}

async function open(dir = dataDir(), options: OpenOptions = {}): Promise<FileSlashingProtection> {
  return FileSlashingProtection.open(dir, { genesisValidatorsRoot: GVR, ...options });
}

/** The refusal's reason, or "ok". */
async function verdict(attempt: Promise<void>): Promise<SlashingProtectionReason | "ok"> {
  try {
    await attempt;
    return "ok";
  } catch (err) {
    if (err instanceof SlashingProtectionError) return err.reason;
    throw err;
  }
}

describe("slashing protection rules", () => {
  it("refuses double votes, surround votes and source after target, by reason, and allows the same root again", async () => {
    const store = await open();
    const vote = (a: ReturnType<typeof att>) => verdict(store.checkAndInsertAttestation(KEY, a));
    expect(await vote(att(10, 20))).toBe("ok");
    expect(await vote(att(10, 20))).toBe("ok");
    expect(await vote(att(10, 20, 2))).toBe("DoubleVote");
    expect(await vote(att(9, 20))).toBe("DoubleVote");
    expect(await vote(att(11, 19))).toBe("SurroundedVote");
    expect(await vote(att(9, 21))).toBe("SurroundVote");
    expect(await vote(att(22, 21))).toBe("SourceAfterTarget");
    expect(await vote(att(20, 21))).toBe("ok");
    expect(await vote(att(5, 8))).toBe("ok");
    // Another validator's history is its own.
    expect(await verdict(store.checkAndInsertAttestation(OTHER_KEY, att(9, 21)))).toBe("ok");
    await store.close();
  });

  it("refuses a second block for a slot, allows the same block again and blocks out of order", async () => {
    const store = await open();
    const propose = (slot: number, r: number) => verdict(store.checkAndInsertBlockProposal(KEY, { slot, signingRoot: root(r) }));
    expect(await propose(100, 1)).toBe("ok");
    expect(await propose(100, 1)).toBe("ok");
    expect(await propose(100, 2)).toBe("DoubleProposal");
    expect(await propose(99, 2)).toBe("ok");
    await store.close();
  });

  it("names the validator and the conflicting record in the refusal", async () => {
    const store = await open();
    await store.checkAndInsertAttestation(KEY, att(3, 4));
    await expect(store.checkAndInsertAttestation(KEY, att(2, 5))).rejects.toThrow(
      /validator 0xa1a1.*: attestation source 2 target 5 refused: surrounds the signed source 3 target 4/,
    );
    await store.close();
  });
});

describe("slashing protection storage", () => {
  it("never forgets across a restart", async () => {
    const dir = dataDir();
    const first = await open(dir);
    await first.checkAndInsertAttestation(KEY, att(1, 2));
    await first.checkAndInsertBlockProposal(KEY, { slot: 64, signingRoot: root(1) });
    await first.close();
    const second = await open(dir);
    expect(await verdict(second.checkAndInsertAttestation(KEY, att(1, 2, 9)))).toBe("DoubleVote");
    expect(await verdict(second.checkAndInsertBlockProposal(KEY, { slot: 64, signingRoot: root(9) }))).toBe("DoubleProposal");
    expect(await verdict(second.checkAndInsertAttestation(KEY, att(1, 2)))).toBe("ok");
    await second.close();
  });

  it("lets exactly one of two conflicting concurrent requests through", async () => {
    const store = await open();
    for (let target = 1; target <= 20; target++) {
      const results = await Promise.all([1, 2].map((r) => verdict(store.checkAndInsertAttestation(KEY, att(0, target, r)))));
      expect(results.sort()).toEqual(["DoubleVote", "ok"]);
    }
    const blocks = await Promise.all([1, 2, 3].map((r) => verdict(store.checkAndInsertBlockProposal(KEY, { slot: 5, signingRoot: root(r) }))));
    expect(blocks.filter((b) => b === "ok")).toHaveLength(1);
    await store.close();
  });

  it("keeps every acknowledged record when the process is killed mid-stream", async () => {
    const dir = dataDir();
    const acknowledged = await runAndKill(dir, 40);
    expect(acknowledged.length).toBeGreaterThanOrEqual(40);
    // The killed process left its lock behind; its pid is gone, so the lock is taken over.
    const store = await open(dir);
    for (const target of acknowledged) {
      expect(await verdict(store.checkAndInsertAttestation(KEY, att(target - 1, target, 99)))).toBe("DoubleVote");
    }
    await store.close();
  });

  it("cuts off a torn last line and refuses a corrupt line followed by intact ones", async () => {
    const dir = dataDir();
    const store = await open(dir);
    await store.checkAndInsertAttestation(KEY, att(1, 2));
    await store.checkAndInsertAttestation(KEY, att(2, 3));
    await store.close();
    const log = join(dir, LOG_FILE);
    const intact = readFileSync(log, "utf8");
    appendFileSync(log, '{"k":"attestation","pubkey":"0xa1');
    const reopened = await open(dir);
    expect(await verdict(reopened.checkAndInsertAttestation(KEY, att(1, 2, 9)))).toBe("DoubleVote");
    await reopened.close();
    expect(readFileSync(log, "utf8")).toBe(intact);

    const lines = readFileSync(log, "utf8").split("\n");
    lines[1] = lines[1]!.replace('"target":2', '"target":3');
    writeFileSync(log, lines.join("\n"));
    await expect(open(dir)).rejects.toThrow(/line 2 is corrupt but later records are intact/);
  });

  it("refuses a second opener and another network's genesis validators root", async () => {
    const dir = dataDir();
    const store = await open(dir);
    await expect(open(dir)).rejects.toThrow(/already open in this process/);
    await store.close();
    await expect(FileSlashingProtection.open(dir, { genesisValidatorsRoot: root(8) })).rejects.toThrow(/belongs to the network with genesis validators root 0x0707/);
  });

  it("compacts the log, pruning old records into watermarks that still refuse them", async () => {
    const dir = dataDir();
    const retention = { attestations: 8, blocks: 4, compactAfterLines: 16 };
    const store = await open(dir, { retention });
    for (let epoch = 1; epoch <= 100; epoch++) {
      await store.checkAndInsertAttestation(KEY, att(epoch - 1, epoch));
      await store.checkAndInsertBlockProposal(KEY, { slot: epoch * 32, signingRoot: root(1) });
    }
    await store.close();
    const lines = readFileSync(join(dir, LOG_FILE), "utf8").split("\n").length;
    expect(lines).toBeLessThan(100);
    const reopened = await open(dir, { retention });
    // Pruned: below the watermarks, refused even with the original root.
    expect(await verdict(reopened.checkAndInsertAttestation(KEY, att(4, 5)))).toBe("BelowWatermark");
    expect(await verdict(reopened.checkAndInsertBlockProposal(KEY, { slot: 64, signingRoot: root(1) }))).toBe("BelowWatermark");
    // Kept: the same root is still allowed, another still a double vote.
    expect(await verdict(reopened.checkAndInsertAttestation(KEY, att(99, 100)))).toBe("ok");
    expect(await verdict(reopened.checkAndInsertAttestation(KEY, att(99, 100, 2)))).toBe("DoubleVote");
    expect(await verdict(reopened.checkAndInsertAttestation(KEY, att(100, 101)))).toBe("ok");
    await reopened.close();
  });
});

describe("slashing protection interchange", () => {
  it("exports only what is on disk: an export asked while a vote is being written waits for it", async () => {
    const dir = dataDir();
    const store = await open(dir);
    const settled: string[] = [];
    // Not awaited: the vote is in memory, its write under way.
    const recording = store.checkAndInsertAttestation(KEY, att(5, 6, 9)).then(() => settled.push("recorded"));
    const exported = await store.exportInterchange(["0x" + "a1".repeat(48)]).then((e) => (settled.push("exported"), e));
    expect(exported.validators[0]!.attestations.map((a) => a.targetEpoch)).toEqual([6]);
    expect(settled).toEqual(["recorded", "exported"]);
    expect(readFileSync(join(dir, LOG_FILE), "utf8")).toContain("09".repeat(32));
    await recording;
    await store.close();
  });

  it("exports what it recorded and an import elsewhere refuses the same conflicts", async () => {
    const a = await open();
    await a.checkAndInsertAttestation(KEY, att(3, 4));
    await a.checkAndInsertBlockProposal(KEY, { slot: 40, signingRoot: root(5) });
    await a.checkAndInsertAttestation(OTHER_KEY, att(0, 1));
    const exported = await a.exportInterchange(["0x" + "a1".repeat(48)]);
    expect(exported.validators.map((v) => v.pubkey)).toEqual(["0x" + "a1".repeat(48)]);
    expect((await a.exportInterchange()).validators).toHaveLength(2);
    await expect(a.exportInterchange(["0x" + "cc".repeat(48)])).rejects.toThrow(/no slashing protection data for this validator/);
    await a.close();

    const b = await open();
    expect(await b.importInterchange(exported, "export of a")).toEqual({ validators: 1, blocks: 1, attestations: 1 });
    expect(await verdict(b.checkAndInsertAttestation(KEY, att(3, 4)))).toBe("ok");
    expect(await verdict(b.checkAndInsertAttestation(KEY, att(2, 5)))).toBe("BelowWatermark");
    expect(await verdict(b.checkAndInsertBlockProposal(KEY, { slot: 40, signingRoot: root(6) }))).toBe("DoubleProposal");
    expect(await verdict(b.checkAndInsertBlockProposal(KEY, { slot: 41, signingRoot: root(6) }))).toBe("ok");
    await b.close();
  });

  it("exports pruned history as watermark records", async () => {
    const store = await open(dataDir(), { retention: { attestations: 2, blocks: 1, compactAfterLines: 4 } });
    for (let epoch = 1; epoch <= 10; epoch++) await store.checkAndInsertAttestation(KEY, att(epoch - 1, epoch));
    const [v] = (await store.exportInterchange()).validators;
    // Whatever was pruned, the export carries watermarks at least as high as its history.
    expect(Math.max(...v!.attestations.map((a) => a.targetEpoch))).toBe(10);
    expect(v!.attestations.length).toBeLessThanOrEqual(10);
    await store.close();
  });
});

/**
 * Runs a child process that records attestations for targets 1, 2, ... and prints each target
 * once its check resolved; kills it (SIGKILL, no cleanup) after `count` acknowledgements.
 * Returns the acknowledged targets.
 */
async function runAndKill(dir: string, count: number): Promise<number[]> {
  const build = mkdtempSync(join(tmpdir(), "nektar-sp-child-"));
  const sources = [
    "services/core/errors.ts",
    "services/core/hex.ts",
    "services/core/store/files.ts",
    ...["attestation", "block", "errors", "log", "store", "types"].map((m) => `services/signer/slashingProtection/${m}.ts`),
  ];
  for (const file of sources) {
    const { code } = await transformFile(file, { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } });
    mkdirSync(dirname(join(build, file)), { recursive: true });
    writeFileSync(join(build, file.replace(/\.ts$/, ".js")), code);
  }
  const child = join(build, "child.mjs");
  writeFileSync(
    child,
    `import { FileSlashingProtection } from "./services/signer/slashingProtection/store.js";
const store = await FileSlashingProtection.open(process.argv[2], { genesisValidatorsRoot: new Uint8Array(32).fill(7) });
const key = new Uint8Array(48).fill(0xa1);
for (let target = 1; ; target++) {
  await store.checkAndInsertAttestation(key, { sourceEpoch: target - 1, targetEpoch: target, signingRoot: new Uint8Array(32).fill(1) });
  process.stdout.write(target + "\\n");
}
`,
  );
  const proc = spawn(process.execPath, [child, dir], { stdio: ["ignore", "pipe", "inherit"] });
  const acknowledged: number[] = [];
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  for await (const line of createInterface({ input: proc.stdout })) {
    acknowledged.push(Number(line));
    if (acknowledged.length === count) proc.kill("SIGKILL");
  }
  await exited;
  return acknowledged;
}
