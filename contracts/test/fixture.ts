/**
 * A deployed nektar on a fresh anvil, and the actors the suites need: operators with BLS keys,
 * collateral and delegated stake, and an AVS. Everything goes through the typed client, so the
 * suites exercise it as the services will.
 */
import { SecretKey } from "@chainsafe/blst";
import { parseEther, toUtf8Bytes } from "ethers";
import type { JsonRpcSigner } from "ethers";

import { startAnvil } from "../anvil.js";
import type { Anvil } from "../anvil.js";
import { connectNektar, deployNektar, depositCollateral, g1FromPublicKey, operatorIdOf, registerOperator } from "../client/index.js";
import type { G1Point, NektarContracts, SlashingParamsStruct, TaskParamsStruct } from "../client/index.js";
import { HOODI } from "../../services/core/eth/networks.js";
import { toHex } from "../../services/core/hex.js";

export const WITHDRAWAL_DELAY_BLOCKS = 100;
export const NETWORK = HOODI;

export interface Fixture {
  anvil: Anvil;
  deployer: JsonRpcSigner;
  contracts: NektarContracts;
  chainId: bigint;
  /** The contracts as seen by dev account `index`. */
  as(index: number): Promise<NektarContracts>;
}

export async function deployFixture(accounts = 20): Promise<Fixture> {
  const anvil = await startAnvil({ accounts });
  const deployer = await anvil.signer(0);
  const contracts = await deployNektar(deployer, {
    genesisForkVersion: toHex(NETWORK.genesisForkVersion),
    withdrawalDelayBlocks: WITHDRAWAL_DELAY_BLOCKS,
  });
  const chainId = (await anvil.provider.getNetwork()).chainId;
  return {
    anvil,
    deployer,
    contracts,
    chainId,
    as: async (index) => connectNektar(contracts.addresses, await anvil.signer(index)),
  };
}

export interface Operator {
  index: number;
  address: string;
  secretKey: SecretKey;
  publicKey: G1Point;
  operatorId: string;
  contracts: NektarContracts;
}

export function operatorKey(seed: number): SecretKey {
  return SecretKey.fromKeygen(new Uint8Array(32).fill(seed), toUtf8Bytes("nektar contract tests"));
}

/**
 * Registers dev account `index` as an operator; optionally deposits `collateral` divETH (bought
 * from the pool) and self-delegates `stake` wei of ETH.
 */
export async function makeOperator(
  f: Fixture,
  index: number,
  options: { collateral?: bigint; stake?: bigint } = {},
): Promise<Operator> {
  const contracts = await f.as(index);
  const secretKey = operatorKey(index);
  const registered = await registerOperator(contracts.operatorRegistry, secretKey, toUtf8Bytes(`peer-${index}`));
  const address = await (await f.anvil.signer(index)).getAddress();
  if (options.collateral !== undefined) {
    await (await contracts.stakingPool.deposit(address, { value: options.collateral * 2n })).wait();
    await depositCollateral(contracts.operatorRegistry, contracts.divETH, options.collateral);
  }
  if (options.stake !== undefined) {
    await (await contracts.delegationManager.delegateETH(address, { value: options.stake })).wait();
  }
  const publicKey = g1FromPublicKey(secretKey.toPublicKey());
  if (registered.operatorId !== operatorIdOf(publicKey)) throw new Error("operator id differs from the client's");
  return { index, address, secretKey, publicKey, operatorId: registered.operatorId, contracts };
}

export const TASK_WINDOWS = {
  responseWindowBlocks: 10,
  challengeWindowBlocks: 10,
  resolutionWindowBlocks: 10,
  vetoWindowBlocks: 10,
};

export function taskParams(
  overrides: Omit<Partial<TaskParamsStruct>, "taskCreator" | "arbiter"> & { taskCreator: string; arbiter: string },
): TaskParamsStruct {
  return {
    quorumBps: 6_667,
    minOperators: 1,
    minTotalStake: 0,
    responseWindowBlocks: TASK_WINDOWS.responseWindowBlocks,
    challengeWindowBlocks: TASK_WINDOWS.challengeWindowBlocks,
    resolutionWindowBlocks: TASK_WINDOWS.resolutionWindowBlocks,
    challengeBond: parseEther("1"),
    ...overrides,
  };
}

export function slashingParams(overrides: Partial<SlashingParamsStruct> = {}): SlashingParamsStruct {
  return {
    stakeBps: 1_000,
    collateralBps: 5_000,
    vetoWindowBlocks: TASK_WINDOWS.vetoWindowBlocks,
    vetoThreshold: 0,
    vetoCommittee: [],
    ...overrides,
  };
}

/** Registers an AVS owned by dev account `ownerIndex`; returns its id. */
export async function registerAVS(
  f: Fixture,
  ownerIndex: number,
  task: TaskParamsStruct,
  slashing: SlashingParamsStruct = slashingParams(),
  minOperatorStake: bigint = 0n,
): Promise<bigint> {
  const { avsDirectory } = await f.as(ownerIndex);
  const receipt = await (await avsDirectory.registerAVS(minOperatorStake, task, slashing, "https://avs.example/metadata.json")).wait();
  const log = receipt!.logs.map((l) => avsDirectory.interface.parseLog(l)).find((l) => l?.name === "AVSRegistered");
  return log!.args.avsId as bigint;
}

/** Accounts with fixed roles in the AVS suites. */
export const AVS_OWNER = 14;
export const TASK_CREATOR = 15;
export const ARBITER = 16;

export interface AVSSetup {
  avsId: bigint;
  operators: Operator[];
  taskCreator: NektarContracts;
  arbiter: NektarContracts;
}

/**
 * Operators on dev accounts 1..n with the given self-delegated stakes (wei) and 2 divETH of
 * collateral each, an AVS created by AVS_OWNER, and every operator opted in.
 */
export async function avsWithOperators(
  f: Fixture,
  stakes: bigint[],
  options: { task?: Omit<Partial<TaskParamsStruct>, "taskCreator" | "arbiter">; slashing?: SlashingParamsStruct } = {},
): Promise<AVSSetup> {
  const operators: Operator[] = [];
  for (const [i, stake] of stakes.entries()) {
    operators.push(await makeOperator(f, i + 1, { collateral: parseEther("2"), stake }));
  }
  const taskCreator = await f.as(TASK_CREATOR);
  const arbiter = await f.as(ARBITER);
  const avsId = await registerAVS(
    f,
    AVS_OWNER,
    taskParams({
      taskCreator: await (await f.anvil.signer(TASK_CREATOR)).getAddress(),
      arbiter: await (await f.anvil.signer(ARBITER)).getAddress(),
      ...options.task,
    }),
    options.slashing,
  );
  for (const o of operators) await (await o.contracts.avsDirectory.optIn(avsId)).wait();
  return { avsId, operators, taskCreator, arbiter };
}
