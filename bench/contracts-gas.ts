/**
 * contracts-gas: what the restaking contracts cost on a Prague EVM (anvil from npm).
 *
 * Operators are registered for real (proof of possession checked on-chain, stake delegated,
 * opted in), many transactions per block so 1,000 of them take seconds. Responses are signed
 * with blst and verified through the EIP-2537 precompiles, for 10, 100 and 1,000 operators and
 * 0, 10 and 100 non-signers (combinations where the non-signers would be everyone are skipped).
 *
 * Reference: EigenLayer's BN254 BLSSignatureChecker spends ~120,000 gas on its pairing check
 * alone, plus a per-non-signer cost; the target here is <= 250,000 gas for the whole
 * respondToTask transaction at 100 operators and 10 non-signers.
 */
import { SecretKey } from "@chainsafe/blst";
import { parseEther, toUtf8Bytes } from "ethers";
import type { JsonRpcProvider, TransactionReceipt } from "ethers";

import { startAnvil } from "../contracts/anvil.js";
import {
  aggregateResponse,
  createTask,
  deployNektar,
  g1FromPublicKey,
  proofOfPossession,
  respondToTask,
  responseDigest,
} from "../contracts/client/index.js";
import type { NektarContracts } from "../contracts/client/index.js";
import type { Benchmark } from "./index.js";
import { printTable } from "./measure.js";

const OPERATOR_COUNTS = [10, 100, 1000];
const NON_SIGNER_COUNTS = [0, 10, 100];
const TARGET_GAS = 250_000n;
const EIGENLAYER_PAIRING_GAS = 120_000n;
const INTRINSIC_GAS = 21_000n;
const BATCH = 200;

function ratio(gas: bigint, reference: bigint): string {
  return (Number(gas) / Number(reference)).toFixed(2);
}

interface BenchOperator {
  address: string;
  secretKey: SecretKey;
}

interface RawTx {
  from: string;
  to: string;
  data: string;
  value?: bigint;
}

/** Sends `txs` with automine off, mines them in blocks of BATCH, and checks every receipt. */
async function sendMany(provider: JsonRpcProvider, txs: RawTx[]): Promise<TransactionReceipt[]> {
  const receipts: TransactionReceipt[] = [];
  await provider.send("evm_setAutomine", [false]);
  try {
    for (let i = 0; i < txs.length; i += BATCH) {
      const hashes: string[] = await Promise.all(
        txs.slice(i, i + BATCH).map((tx) =>
          provider.send("eth_sendTransaction", [
            { from: tx.from, to: tx.to, data: tx.data, value: `0x${(tx.value ?? 0n).toString(16)}`, gas: "0x1e8480" },
          ]),
        ),
      );
      await provider.send("evm_mine", []);
      const mined = await Promise.all(hashes.map((hash) => provider.getTransactionReceipt(hash)));
      for (const [j, receipt] of mined.entries()) {
        if (receipt?.status !== 1) throw new Error(`contracts-gas: setup transaction ${i + j} reverted`);
        receipts.push(receipt);
      }
    }
  } finally {
    await provider.send("evm_setAutomine", [true]);
  }
  return receipts;
}

async function setUp(provider: JsonRpcProvider, c: NektarContracts, count: number): Promise<{ operators: BenchOperator[]; registerGas: bigint }> {
  const operators: BenchOperator[] = [];
  for (let i = 0; i < count; i++) {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i + 1);
    const address = `0x${(0x100000 + i).toString(16).padStart(40, "0")}`;
    operators.push({ address, secretKey: SecretKey.fromKeygen(seed, toUtf8Bytes("contracts-gas")) });
  }
  await Promise.all(operators.map((o) => provider.send("anvil_setBalance", [o.address, `0x${parseEther("100").toString(16)}`])));
  const registry = c.operatorRegistry.interface;
  const registrations = await sendMany(
    provider,
    operators.map((o) => ({
      from: o.address,
      to: c.addresses.operatorRegistry,
      data: registry.encodeFunctionData("register", [
        g1FromPublicKey(o.secretKey.toPublicKey()),
        proofOfPossession(o.secretKey),
        toUtf8Bytes("12D3KooWExamplePeerIdOfLibp2pEd25519Key0"),
      ]),
    })),
  );
  // Stakes vary so the non-signers' stake is not a multiple of one number.
  await sendMany(
    provider,
    operators.map((o, i) => ({
      from: o.address,
      to: c.addresses.delegationManager,
      data: c.delegationManager.interface.encodeFunctionData("delegateETH", [o.address]),
      value: parseEther(String(1 + (i % 7))),
    })),
  );
  const gas = registrations.map((r) => r.gasUsed).sort((a, b) => (a < b ? -1 : 1));
  return { operators, registerGas: gas[Math.floor(gas.length / 2)]! };
}

async function registerAVS(c: NektarContracts, owner: string, members: BenchOperator[]): Promise<bigint> {
  const receipt = await (
    await c.avsDirectory.registerAVS(
      0,
      {
        taskCreator: owner,
        arbiter: owner,
        quorumBps: 6_667,
        minOperators: 1,
        minTotalStake: 0,
        responseWindowBlocks: 100,
        challengeWindowBlocks: 100,
        resolutionWindowBlocks: 100,
        challengeBond: parseEther("1"),
      },
      { stakeBps: 1_000, collateralBps: 0, vetoWindowBlocks: 100, vetoThreshold: 0, vetoCommittee: [] },
      "",
    )
  ).wait();
  const avsId = c.avsDirectory.interface.parseLog(receipt!.logs[0]!)!.args.avsId as bigint;
  const data = c.avsDirectory.interface.encodeFunctionData("optIn", [avsId]);
  await sendMany(c.avsDirectory.runner!.provider as JsonRpcProvider, members.map((o) => ({ from: o.address, to: c.addresses.avsDirectory, data })));
  return avsId;
}

export const contractsGasBench: Benchmark = {
  name: "contracts-gas",
  description: "gas: operator registration; verifying a task response (BLS12-381 aggregate, EIP-2537) by operators x non-signers",
  async run() {
    const anvil = await startAnvil({ gasLimit: 1_000_000_000n, autoImpersonate: true });
    try {
      const deployer = await anvil.signer(0);
      const owner = await deployer.getAddress();
      const c = await deployNektar(deployer, { genesisForkVersion: "0x10000910", withdrawalDelayBlocks: 50_400 });
      const chainId = (await anvil.provider.getNetwork()).chainId;
      const started = Date.now();
      const { operators, registerGas } = await setUp(anvil.provider, c, Math.max(...OPERATOR_COUNTS));
      const avsIds = new Map<number, bigint>();
      for (const n of OPERATOR_COUNTS) avsIds.set(n, await registerAVS(c, owner, operators.slice(0, n)));
      console.log(`set up ${operators.length} operators in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await anvil.mine();

      const rows: (string | number)[][] = [["register operator (proof of possession checked)", "-", Number(registerGas), "-", "-"]];
      const measured = new Map<string, bigint>();
      for (const n of OPERATOR_COUNTS) {
        for (const k of NON_SIGNER_COUNTS) {
          if (k >= n) continue;
          const { task } = await createTask(c.taskManager, avsIds.get(n)!, toUtf8Bytes(`task ${n}/${k}`));
          const resultHash = `0x${(n * 1000 + k).toString(16).padStart(64, "0")}`;
          const digest = responseDigest(chainId, c.addresses.taskManager, task.taskId, resultHash);
          const members = operators.slice(0, n);
          const signers = members.slice(0, n - k);
          const nonSigners = members.slice(n - k);
          const aggregate = aggregateResponse(
            signers.map((o) => o.secretKey.sign(digest)),
            nonSigners.map((o) => o.secretKey.toPublicKey()),
          );
          // The verification alone: the view respondToTask runs, less the 21,000 every transaction pays.
          const verification =
            (await c.taskManager.checkSignatures.estimateGas(task, resultHash, aggregate.nonSignerKeys, aggregate.signature)) -
            INTRINSIC_GAS;
          const { receipt } = await respondToTask(c.taskManager, task, resultHash, aggregate);
          measured.set(`${n}/${k}`, verification);
          const target = n === 100 && k === 10 ? ratio(verification, TARGET_GAS) : "-";
          rows.push([`verify response (${n} operators, ${k} non-signers)`, Number(verification), Number(receipt.gasUsed), ratio(verification, EIGENLAYER_PAIRING_GAS), target]);
        }
      }
      printTable(["operation", "verification gas", "tx gas", "x EigenLayer pairing", "of target"], rows);
      const perNonSigner = (measured.get("1000/100")! - measured.get("1000/10")!) / 90n;
      const flat = measured.get("1000/0")! - measured.get("10/0")!;
      console.log(
        `per non-signer: ${perNonSigner} gas; 10 -> 1,000 operators at 0 non-signers: ${flat >= 0n ? "+" : ""}${flat} gas; ` +
          `target <= ${TARGET_GAS} gas at 100 operators / 10 non-signers: ${measured.get("100/10")! <= TARGET_GAS ? "met" : "MISSED"}`,
      );
      console.log(
        `verification gas = eth_estimateGas(TaskManager.checkSignatures) - ${INTRINSIC_GAS} (calldata included); ` +
          `tx gas = the whole respondToTask transaction (also stores the response and emits it); ` +
          `reference: EigenLayer's BN254 checker, ${EIGENLAYER_PAIRING_GAS} gas for its pairing alone, linear in non-signers`,
      );
    } finally {
      await anvil.stop();
    }
  },
};
