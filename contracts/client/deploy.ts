/**
 * Deploys and wires the whole set: the constructors form a chain (pool -> registry ->
 * delegation -> directory -> task manager -> slasher), and the few links that point back are
 * set once afterwards (the pool's registry, the delegation manager's stake observer) together
 * with the roles. On a public network, pass the canonical deposit contract's address.
 */
import { ContractFactory } from "ethers";
import type { InterfaceAbi, Signer } from "ethers";

import { NektarError } from "../../services/core/errors.js";
import { fromHex } from "../../services/core/hex.js";
import {
  AVSDirectoryAbi,
  AVSDirectoryBytecode,
  DelegationManagerAbi,
  DelegationManagerBytecode,
  DepositContractAbi,
  DepositContractBytecode,
  OperatorRegistryAbi,
  OperatorRegistryBytecode,
  RewardsDistributorAbi,
  RewardsDistributorBytecode,
  SlasherAbi,
  SlasherBytecode,
  StakingPoolAbi,
  StakingPoolBytecode,
  TaskManagerAbi,
  TaskManagerBytecode,
} from "../generated/index.js";
import type { StakingPool } from "../generated/index.js";
import { attach, connectNektar } from "./contracts.js";
import type { NektarContracts } from "./contracts.js";

export interface DeployOptions {
  /** The network's genesis fork version, 4 bytes hex: deposits are signed over it. */
  genesisForkVersion: string;
  /** Blocks a queued withdrawal waits; every AVS's windows must fit inside (e.g. 7 days). */
  withdrawalDelayBlocks: number;
  /** An existing deposit contract (mainnet: 0x00000000219ab540356cBB839Cbe05303d7705Fa); deploys a local copy if absent. */
  depositContract?: string;
  /** Holders of the operational roles; the deployer if absent. The deployer stays admin. */
  oracle?: string;
  depositor?: string;
  rewardsSubmitter?: string;
}

async function deployContract(deployer: Signer, abi: InterfaceAbi, bytecode: string, ...args: unknown[]): Promise<string> {
  const contract = await new ContractFactory(abi, bytecode, deployer).deploy(...args);
  await contract.waitForDeployment();
  return contract.getAddress();
}

export async function deployNektar(deployer: Signer, options: DeployOptions): Promise<NektarContracts> {
  const forkVersion = fromHex(options.genesisForkVersion, "genesisForkVersion", 4);
  if (!Number.isInteger(options.withdrawalDelayBlocks) || options.withdrawalDelayBlocks <= 0) {
    throw new NektarError(`withdrawalDelayBlocks: expected a positive integer, got ${options.withdrawalDelayBlocks}`);
  }
  const admin = await deployer.getAddress();
  const depositContract =
    options.depositContract ?? (await deployContract(deployer, DepositContractAbi, DepositContractBytecode));
  const stakingPool = await deployContract(deployer, StakingPoolAbi, StakingPoolBytecode, depositContract, forkVersion, admin);
  const divETH = await attach<StakingPool>(stakingPool, StakingPoolAbi, deployer).divETH();
  const operatorRegistry = await deployContract(deployer, OperatorRegistryAbi, OperatorRegistryBytecode, divETH, admin);
  const delegationManager = await deployContract(
    deployer, DelegationManagerAbi, DelegationManagerBytecode, stakingPool, operatorRegistry, options.withdrawalDelayBlocks, admin,
  );
  const avsDirectory = await deployContract(deployer, AVSDirectoryAbi, AVSDirectoryBytecode, operatorRegistry, delegationManager);
  const taskManager = await deployContract(deployer, TaskManagerAbi, TaskManagerBytecode, avsDirectory, delegationManager);
  const slasher = await deployContract(
    deployer, SlasherAbi, SlasherBytecode, taskManager, avsDirectory, operatorRegistry, delegationManager,
  );
  const rewardsDistributor = await deployContract(deployer, RewardsDistributorAbi, RewardsDistributorBytecode, divETH, admin);

  const contracts = connectNektar(
    { depositContract, stakingPool, divETH, operatorRegistry, delegationManager, avsDirectory, taskManager, slasher, rewardsDistributor },
    deployer,
  );
  const { stakingPool: p, operatorRegistry: r, delegationManager: d, rewardsDistributor: rd } = contracts;
  const wiring = [
    () => p.setOperatorRegistry(operatorRegistry),
    async () => r.grantRole(await r.POOL_ROLE(), stakingPool),
    async () => r.grantRole(await r.SLASHER_ROLE(), slasher),
    async () => d.grantRole(await d.SLASHER_ROLE(), slasher),
    () => d.setStakeObserver(avsDirectory),
    async () => p.grantRole(await p.ORACLE_ROLE(), options.oracle ?? admin),
    async () => p.grantRole(await p.DEPOSITOR_ROLE(), options.depositor ?? admin),
    async () => rd.grantRole(await rd.ROOT_SUBMITTER_ROLE(), options.rewardsSubmitter ?? admin),
  ];
  for (const step of wiring) await (await step()).wait();
  return contracts;
}

