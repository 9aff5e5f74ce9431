/**
 * The example AVS as the devnet starts it, on anvil with two operators: the config files it
 * writes give each worker and the aggregator a data dir inside the devnet's folder, and the
 * records there are the ones a rerun of that process reads (docs/devnet.md): each worker's
 * signed response is the one the aggregator received from it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Anvil } from "../../../contracts/anvil.js";
import { AggregatorConfigSchema, WorkerConfigSchema, readConfigFile } from "../../avs/config.js";
import { readPasswordFile } from "../../core/crypto/index.js";
import { HOODI } from "../../core/eth/networks.js";
import { toHex } from "../../core/hex.js";
import { registerExampleAvs, startExampleAvs, type RunningAvs } from "./avs.js";
import { deployContracts, registerOperators, startChain } from "./chain.js";
import { Lifecycle } from "./lifecycle.js";
import { LogFiles } from "./logs.js";
import { createOperator, writePasswordFile, type DevnetOperator } from "./operators.js";
import { Ports } from "./ports.js";

interface SignedRecord {
  operatorId: string;
  signed: { taskId: number; signature: string }[];
}

describe("the devnet's example AVS", () => {
  let dir: string;
  let anvil: Anvil | undefined;
  const lifecycle = new Lifecycle();
  let operators: DevnetOperator[];
  let avsId: number;
  let avs: RunningAvs;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-devnet-avs-"));
    const chain = await startChain(2);
    anvil = chain.anvil;
    const contracts = await deployContracts(anvil, chain.accounts, toHex(HOODI.genesisForkVersion));
    const passwordFile = await writePasswordFile(dir);
    const password = await readPasswordFile(passwordFile);
    const ports = new Ports();
    const p2pPorts = await ports.take(2, "the operators' libp2p");
    operators = await Promise.all(chain.accounts.operators.map((address, i) => createOperator(dir, i, address, p2pPorts[i]!, password)));
    await registerOperators(anvil, contracts, operators, 10n ** 18n);
    const avsDir = join(dir, "avs");
    await mkdir(avsDir);
    avsId = await registerExampleAvs(anvil, contracts, chain.accounts, operators, avsDir);
    const chainId = (await anvil.provider.getNetwork()).chainId;
    avs = await startExampleAvs({ anvil, contracts, chainId, avsId, operators, passwordFile, ports, logs: new LogFiles(join(dir, "logs")), lifecycle, dir: avsDir });
  }, 180_000);

  afterAll(async () => {
    await lifecycle.stopAll();
    await anvil?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("keeps each worker's signed responses and the aggregator's held ones in data dirs inside the devnet's folder", async () => {
    const inside = (path: string) => !relative(dir, path).startsWith("..");
    const workerDataDirs = await Promise.all(
      operators.map(async (op) => {
        const path = join(op.dir, "avs-worker.json");
        return resolve(op.dir, (await readConfigFile(WorkerConfigSchema, path)).dataDir!);
      }),
    );
    const aggregatorConfig = join(dir, "avs", "avs-aggregator.json");
    const aggregatorDataDir = resolve(dir, "avs", (await readConfigFile(AggregatorConfigSchema, aggregatorConfig)).dataDir!);
    for (const path of [...workerDataDirs, aggregatorDataDir]) expect(inside(path)).toBe(true);
    expect(new Set(workerDataDirs).size).toBe(operators.length); // never one record for two workers

    const submitted = await fetch(`${avs.gatewayUrl}/v1/avs/${avsId}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": avs.apiKey },
      body: JSON.stringify({ input: "0x68656c6c6f" }),
    });
    expect(submitted.status).toBe(202);
    const { taskId } = (await submitted.json()) as { taskId: number };
    let verified = false;
    for (let i = 0; i < 1200 && !verified; i++) {
      const response = await fetch(`${avs.gatewayUrl}/v1/tasks/${taskId}/certificate`);
      verified = response.status === 200 && ((await response.json()) as { verifiedOnChain?: boolean }).verifiedOnChain === true;
      if (!verified) await new Promise((r) => setTimeout(r, 50));
    }
    expect(verified).toBe(true);

    // Two operators at a 2/3 quorum: both signed, and each one's record holds what it sent.
    const { responses } = (await (await fetch(`${avs.gatewayUrl}/v1/tasks/${taskId}/responses`)).json()) as { responses: { operatorId: string; signature: string }[] };
    const records = await Promise.all(workerDataDirs.map(async (d) => JSON.parse(await readFile(join(d, `signed-tasks-${avsId}.json`), "utf8")) as SignedRecord));
    expect(records.map((r) => r.signed.map((s) => s.taskId))).toEqual([[taskId], [taskId]]);
    for (const record of records) expect(responses).toContainEqual(expect.objectContaining({ operatorId: record.operatorId, signature: record.signed[0]!.signature }));

    // The aggregator wrote what it held to its data dir, and dropped it once the task was certified.
    const held = async () => (JSON.parse(await readFile(join(aggregatorDataDir, "held-responses.json"), "utf8")) as { held: unknown[] }).held;
    for (let i = 0; i < 200 && (await held()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await held()).toEqual([]);
  }, 120_000);
});
