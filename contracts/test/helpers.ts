/** Shared by the contract suites: deploying generated artifacts and asserting custom errors. */
import { expect } from "@jest/globals";
import { ContractFactory, isCallException } from "ethers";
import type { BaseContract, ContractRunner, InterfaceAbi } from "ethers";

import { decodeRevert } from "../client/events.js";

/** Deploys `bytecode` with `args` and returns it typed as the generated interface `T`. */
export async function deploy<T extends BaseContract>(
  runner: ContractRunner,
  abi: InterfaceAbi,
  bytecode: string,
  ...args: unknown[]
): Promise<T> {
  const contract = await new ContractFactory(abi, bytecode, runner).deploy(...args);
  await contract.waitForDeployment();
  return contract as unknown as T;
}

/**
 * Awaits `action` and expects it to revert with custom error `name` (decoded through the
 * contract's ABI); returns the error's arguments for further checks.
 */
export async function expectRevert(action: Promise<unknown>, name: string): Promise<unknown[]> {
  let caught: unknown;
  try {
    await action;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected a revert with ${name}, but the call succeeded`);
  if (!isCallException(caught)) throw caught;
  // Decoded against every nektar ABI: errors bubble up from called contracts.
  const decoded = decodeRevert(caught);
  expect(decoded?.name ?? `undecoded revert: ${caught.shortMessage} ${caught.data}`).toBe(name);
  return [...(decoded?.args ?? [])];
}

/** Starting anvil, deploying and registering operators takes seconds; more on a busy machine. */
export const SETUP_TIMEOUT_MS = 120_000;
