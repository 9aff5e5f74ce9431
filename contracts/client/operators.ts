/** What an operator does on-chain: register its BLS key, post collateral, opt in to AVSs. */
import type { SecretKey } from "@chainsafe/blst";
import type { BigNumberish, BytesLike, TransactionReceipt } from "ethers";

import { NektarError } from "../../services/core/errors.js";
import type { AVSDirectory, DivETH, OperatorRegistry, OperatorRegistryEvents } from "../generated/index.js";
import { g1FromPublicKey, proofOfPossession } from "./bls.js";
import { events } from "./events.js";

export type OperatorRegistered = OperatorRegistryEvents["OperatorRegistered"];

async function mined(tx: Promise<{ wait(): Promise<TransactionReceipt | null> }>, what: string): Promise<TransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new NektarError(`${what}: no receipt`);
  return receipt;
}

/** Registers the registry's signer as an operator with `secretKey`'s public key and `peerId`. */
export async function registerOperator(
  registry: OperatorRegistry,
  secretKey: SecretKey,
  peerId: BytesLike,
): Promise<OperatorRegistered> {
  const publicKey = g1FromPublicKey(secretKey.toPublicKey());
  const receipt = await mined(registry.register(publicKey, proofOfPossession(secretKey), peerId), "register operator");
  return events<OperatorRegistryEvents>(registry).one(receipt, "OperatorRegistered");
}

/** Approves and deposits `amount` divETH of collateral (1 divETH per key share the operator will hold). */
export async function depositCollateral(registry: OperatorRegistry, divETH: DivETH, amount: BigNumberish): Promise<TransactionReceipt> {
  await mined(divETH.approve(registry.target, amount), "approve collateral");
  return mined(registry.depositCollateral(amount), "deposit collateral");
}

export async function optIn(directory: AVSDirectory, avsId: BigNumberish): Promise<TransactionReceipt> {
  return mined(directory.optIn(avsId), `opt in to AVS ${avsId}`);
}
