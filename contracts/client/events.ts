/**
 * Typed access to what the contracts emit and revert with: events from a receipt or a live
 * subscription as plain objects (the generated `<Contract>Events` types), and custom errors
 * decoded against every nektar ABI (an error raised in a called contract, e.g. the directory's
 * NotAMember under TaskManager.respondToTask, is not in the caller's ABI).
 */
import { Interface, isCallException } from "ethers";
import type {
  BaseContract,
  ContractEventPayload,
  ErrorDescription,
  InterfaceAbi,
  Log,
  ParamType,
  Result,
  TransactionReceipt,
} from "ethers";

import { NektarError } from "../../services/core/errors.js";
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

/** Events of one contract, typed by its generated `<Contract>Events` map. */
export interface EventReader<E> {
  /** Every `name` event the contract emitted in `receipt`, in log order. */
  all<N extends keyof E & string>(receipt: TransactionReceipt | null, name: N): E[N][];
  /** The one `name` event in `receipt`; throws if there is none or more than one. */
  one<N extends keyof E & string>(receipt: TransactionReceipt | null, name: N): E[N];
  /** Calls `listener` for each new `name` event; returns the unsubscribe function. */
  on<N extends keyof E & string>(name: N, listener: (event: E[N], log: Log) => void): () => Promise<void>;
}

export function events<E>(contract: BaseContract): EventReader<E> {
  const all = <N extends keyof E & string>(receipt: TransactionReceipt | null, name: N): E[N][] => {
    if (receipt === null) throw new NektarError(`${name}: the transaction has no receipt (dropped or replaced)`);
    const address = String(contract.target).toLowerCase();
    const out: E[N][] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== address) continue;
      const parsed = contract.interface.parseLog(log);
      if (parsed?.name === name) out.push(plain(parsed.args, parsed.fragment.inputs) as E[N]);
    }
    return out;
  };
  return {
    all,
    one(receipt, name) {
      const found = all(receipt, name);
      if (found.length !== 1) throw new NektarError(`expected one ${name} event in the receipt, found ${found.length}`);
      return found[0]!;
    },
    on(name, listener) {
      const handler = (...args: unknown[]): void => {
        const payload = args[args.length - 1] as ContractEventPayload;
        listener(plain(payload.args, payload.fragment.inputs) as E[typeof name], payload.log);
      };
      void contract.on(name, handler);
      return async () => {
        await contract.off(name, handler);
      };
    },
  };
}

/**
 * A decoded Result as plain objects and arrays, guided by the ABI types. (Result.toObject
 * cannot tell an empty array from an empty struct and returns {} for both.)
 */
export function plain(values: Result, params: readonly ParamType[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  params.forEach((param, i) => (out[param.name] = plainValue(values[i], param)));
  return out;
}

function plainValue(value: unknown, param: ParamType): unknown {
  if (param.isArray()) return (value as unknown[]).map((v) => plainValue(v, param.arrayChildren));
  if (param.isTuple()) return plain(value as Result, param.components);
  return value;
}

const ALL_ABIS: InterfaceAbi[] = [
  AVSDirectoryAbi, DelegationManagerAbi, DepositContractAbi, DivETHAbi, OperatorRegistryAbi,
  RewardsDistributorAbi, SlasherAbi, StakingPoolAbi, TaskManagerAbi,
];

let errorInterface: Interface | undefined;

/** The custom error behind a failed call or transaction, from any nektar contract; null if none. */
export function decodeRevert(err: unknown): ErrorDescription | null {
  if (!isCallException(err) || typeof err.data !== "string") return null;
  if (errorInterface === undefined) {
    const fragments = new Map<string, object>();
    for (const abi of ALL_ABIS) {
      for (const f of abi as readonly { type?: string; name?: string; inputs?: unknown }[]) {
        if (f.type === "error") fragments.set(`${f.name}(${JSON.stringify(f.inputs)})`, f);
      }
    }
    errorInterface = new Interface([...fragments.values()]);
  }
  return errorInterface.parseError(err.data);
}
