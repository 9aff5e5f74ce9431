/**
 * Slashing protection on disk: a check+insert of an attestation, which resolves only once its
 * record is fdatasynced, against one bare fdatasync of a small append measured in the same run
 * on the same filesystem. Alone, a check costs about one fsync; concurrent checks (a DV with many
 * validators attesting in the same slot) share fsyncs through group commit.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { FileSlashingProtection } from "../services/signer/slashingProtection/index.js";
import type { Benchmark } from "./index.js";
import { percentile, printTable } from "./measure.js";

const ITERATIONS = 300;
const CONCURRENT_VALIDATORS = 64;
const SLOTS = 20;

export const slashingProtectionBench: Benchmark = {
  name: "slashing-protection",
  description: "durable check+insert of attestations vs one bare fdatasync of a small append",
  async run() {
    // Not os.tmpdir(): it may be a tmpfs, where fsync costs nothing.
    const cache = process.env.NEKTAR_CACHE ?? join(homedir(), ".cache", "nektar");
    await mkdir(cache, { recursive: true });
    const dir = await mkdtemp(join(cache, "bench-sp-"));
    try {
      const fsync = await bareFsync(join(dir, "bare.log"));
      const store = await FileSlashingProtection.open(dir, { genesisValidatorsRoot: new Uint8Array(32) });
      try {
        const key = randomBytes(48);
        const sequential = await samples(ITERATIONS, (i) =>
          store.checkAndInsertAttestation(key, { sourceEpoch: i, targetEpoch: i + 1, signingRoot: randomBytes(32) }),
        );
        const keys = Array.from({ length: CONCURRENT_VALIDATORS }, () => randomBytes(48));
        const perSlot = await samples(SLOTS, (slot) =>
          Promise.all(
            keys.map((k) => store.checkAndInsertAttestation(k, { sourceEpoch: slot, targetEpoch: slot + 1, signingRoot: randomBytes(32) })),
          ),
        );
        const amortized = perSlot.map((ms) => ms / CONCURRENT_VALIDATORS);
        const refused = await samples(ITERATIONS, (i) =>
          store.checkAndInsertAttestation(key, { sourceEpoch: i, targetEpoch: i + 1, signingRoot: randomBytes(32) }).catch(() => undefined),
        );
        const p50 = percentile(fsync, 50);
        const rows: [string, number[]][] = [
          ["bare fdatasync of a 200-byte append (reference)", fsync],
          ["check+insert attestation, one at a time", sequential],
          [`check+insert, ${CONCURRENT_VALIDATORS} validators at once, per attestation`, amortized],
          [`  the whole batch of ${CONCURRENT_VALIDATORS}`, perSlot],
          ["refused double vote (no write)", refused],
        ];
        printTable(
          ["operation", "p50 ms", "p99 ms", "p50 x fsync"],
          rows.map(([name, s]) => [name, percentile(s, 50), percentile(s, 99), percentile(s, 50) / p50]),
        );
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

async function bareFsync(path: string): Promise<number[]> {
  const file = await open(path, "a");
  const line = "x".repeat(199) + "\n";
  try {
    return await samples(ITERATIONS, async () => {
      await file.writeFile(line);
      await file.datasync();
    });
  } finally {
    await file.close();
  }
}

/** Wall time in ms of each of `n` runs, after a tenth as many warm-up runs. */
async function samples(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const warmup = Math.ceil(n / 10);
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = warmup; i < warmup + n; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return out;
}
