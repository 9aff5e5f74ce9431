/**
 * The devnet's chain: anvil (Prague, for the EIP-2537 precompiles the contracts verify BLS
 * signatures with), the nektar contracts deployed and wired, and the operators registered with
 * their BLS keys, collateral and delegated stake.
 *
 * Accounts are anvil's dev accounts: 0 deploys (and holds the admin and operational roles),
 * 1..n are the operators, then the AVS's owner, task creator and aggregator.
 */
import { PublicKey, Signature } from "@chainsafe/blst";
import { parseEther } from "ethers";
import { anvilBinary, startAnvil, type Anvil } from "../../../contracts/anvil.js";
import {
  connectNektar,
  deployNektar,
  depositCollateral,
  g1FromPublicKey,
  g2FromSignature,
  registerOperator,
  type NektarContracts,
} from "../../../contracts/client/index.js";
import type { ClusterLock } from "../../core/cluster/lock.js";
import { encodePeerId } from "../../avs/chain.js";
import { NektarError } from "../../core/errors.js";
import { fromHex } from "../../core/hex.js";
import type { DevnetOperator } from "./operators.js";

/** Blocks a queued withdrawal waits: longer than any devnet AVS window. */
const WITHDRAWAL_DELAY_BLOCKS = 1_000;
/** What each operator delegates to itself: a validator's worth, so each holds equal stake. */
export const OPERATOR_STAKE = parseEther("32");

/** The dev accounts besides the operators', by role. */
export interface ChainAccounts {
  deployer: string;
  operators: string[];
  avsOwner: string;
  taskCreator: string;
  aggregator: string;
}

/** Starts anvil with an account for every operator and role; a clear error if anvil is not installed. */
export async function startChain(operators: number): Promise<{ anvil: Anvil; accounts: ChainAccounts }> {
  try {
    anvilBinary();
  } catch (err) {
    throw new NektarError(
      "the devnet runs a local chain with anvil from the @foundry-rs/anvil package, a development dependency of nektar, " +
        "which is not installed: run `npm install` (with dev dependencies) in a checkout of the nektar repository",
      { cause: err },
    );
  }
  const anvil = await startAnvil({ accounts: operators + 4 });
  try {
    const all = (await anvil.provider.send("eth_accounts", [])) as string[];
    const accounts: ChainAccounts = {
      deployer: all[0]!,
      operators: all.slice(1, 1 + operators),
      avsOwner: all[1 + operators]!,
      taskCreator: all[2 + operators]!,
      aggregator: all[3 + operators]!,
    };
    return { anvil, accounts };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

/** Deploys the contracts from the deployer account; deposits are signed over `genesisForkVersion`. */
export async function deployContracts(anvil: Anvil, accounts: ChainAccounts, genesisForkVersion: string): Promise<NektarContracts> {
  const deployer = await anvil.provider.getSigner(accounts.deployer);
  return deployNektar(deployer, { genesisForkVersion, withdrawalDelayBlocks: WITHDRAWAL_DELAY_BLOCKS });
}

/**
 * Registers each operator from its own account: its BLS key (with proof of possession) and peer
 * id, `collateral` divETH bought from the staking pool, and OPERATOR_STAKE self-delegated.
 * Operators go in parallel (one account each), each one's transactions in order.
 */
export async function registerOperators(
  anvil: Anvil,
  contracts: NektarContracts,
  operators: readonly DevnetOperator[],
  collateral: bigint,
): Promise<void> {
  await Promise.all(
    operators.map(async (op) => {
      const own = connectNektar(contracts.addresses, await anvil.provider.getSigner(op.address));
      await registerOperator(own.operatorRegistry, op.blsKey, encodePeerId(op.identity.peerId.toString()));
      await (await own.stakingPool.deposit(op.address, { value: collateral })).wait();
      await depositCollateral(own.operatorRegistry, own.divETH, collateral);
      await (await own.delegationManager.delegateETH(op.address, { value: OPERATOR_STAKE })).wait();
    }),
  );
}

/** What the pool sends the deposit contract per validator. */
const DEPOSIT = parseEther("32");

/**
 * Stakes the cluster's validators through the liquid staking pool, as the protocol does: the
 * deployer deposits 32 ETH per validator for divETH (a staker), then, holding the depositor role,
 * has the pool send each validator's DKG deposit data to the deposit contract, which locks
 * 1 divETH of each operator's collateral per validator. The contract checks the deposit
 * signature (the threshold signature the DKG made) on-chain.
 */
export async function depositValidators(anvil: Anvil, contracts: NektarContracts, accounts: ChainAccounts, lock: ClusterLock): Promise<void> {
  const pool = connectNektar(contracts.addresses, await anvil.provider.getSigner(accounts.deployer));
  await (await pool.stakingPool.deposit(accounts.deployer, { value: DEPOSIT * BigInt(lock.validators.length) })).wait();
  // The pool takes the cluster's operators in ascending order.
  const operators = lock.definition.operators.map((op) => op.address).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  for (const { depositData: entry } of lock.validators) {
    const publicKey = g1FromPublicKey(PublicKey.fromBytes(fromHex(`0x${entry.pubkey}`, "deposit data pubkey", 48)));
    const signature = g2FromSignature(Signature.fromBytes(fromHex(`0x${entry.signature}`, "deposit data signature", 96)));
    const depositRoot = await pool.depositContract.get_deposit_root();
    await (await pool.stakingPool.depositValidator(publicKey, signature, `0x${entry.deposit_data_root}`, operators, depositRoot)).wait();
  }
}
