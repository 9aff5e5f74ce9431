/**
 * The deployed set of nektar contracts as typed ethers handles: the one place services get a
 * contract from. Addresses come from a deployment (deploy.ts) or configuration.
 */
import { Contract } from "ethers";
import type { BaseContract, ContractRunner, InterfaceAbi } from "ethers";

import {
  AVSDirectoryAbi,
  DelegationManagerAbi,
  DepositContractAbi,
  DivETHAbi,
  OperatorRegistryAbi,
  RewardsDistributorAbi,
  SlasherAbi,
  StakingPoolAbi,
  TaskManagerAbi,
} from "../generated/index.js";
import type {
  AVSDirectory,
  DelegationManager,
  DepositContract,
  DivETH,
  OperatorRegistry,
  RewardsDistributor,
  Slasher,
  StakingPool,
  TaskManager,
} from "../generated/index.js";

export interface NektarAddresses {
  depositContract: string;
  stakingPool: string;
  divETH: string;
  operatorRegistry: string;
  delegationManager: string;
  avsDirectory: string;
  taskManager: string;
  slasher: string;
  rewardsDistributor: string;
}

export interface NektarContracts {
  addresses: NektarAddresses;
  depositContract: DepositContract;
  stakingPool: StakingPool;
  divETH: DivETH;
  operatorRegistry: OperatorRegistry;
  delegationManager: DelegationManager;
  avsDirectory: AVSDirectory;
  taskManager: TaskManager;
  slasher: Slasher;
  rewardsDistributor: RewardsDistributor;
}

/** A generated contract type at `address`. */
export function attach<T extends BaseContract>(address: string, abi: InterfaceAbi, runner: ContractRunner): T {
  return new Contract(address, abi, runner) as unknown as T;
}

/** Typed handles on the contracts at `addresses`, sending through `runner`. */
export function connectNektar(addresses: NektarAddresses, runner: ContractRunner): NektarContracts {
  return {
    addresses,
    depositContract: attach<DepositContract>(addresses.depositContract, DepositContractAbi, runner),
    stakingPool: attach<StakingPool>(addresses.stakingPool, StakingPoolAbi, runner),
    divETH: attach<DivETH>(addresses.divETH, DivETHAbi, runner),
    operatorRegistry: attach<OperatorRegistry>(addresses.operatorRegistry, OperatorRegistryAbi, runner),
    delegationManager: attach<DelegationManager>(addresses.delegationManager, DelegationManagerAbi, runner),
    avsDirectory: attach<AVSDirectory>(addresses.avsDirectory, AVSDirectoryAbi, runner),
    taskManager: attach<TaskManager>(addresses.taskManager, TaskManagerAbi, runner),
    slasher: attach<Slasher>(addresses.slasher, SlasherAbi, runner),
    rewardsDistributor: attach<RewardsDistributor>(addresses.rewardsDistributor, RewardsDistributorAbi, runner),
  };
}
