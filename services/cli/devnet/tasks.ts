/**
 * What the chain says the AVS did: tasks created and certified (a TaskResponded event is a
 * certificate the task manager verified on-chain), counted from the events as blocks come.
 */
import type { Anvil } from "../../../contracts/anvil.js";
import type { NektarContracts } from "../../../contracts/client/index.js";
import type { SummaryPart } from "./summary.js";

export interface TaskCounts {
  created: number;
  certified: number;
}

/** Counts the task manager's events, scanning only the blocks new since the last call. */
export function taskCounter(contracts: NektarContracts): (toBlock: number) => Promise<TaskCounts> {
  const counts: TaskCounts = { created: 0, certified: 0 };
  let scanned = -1;
  const { taskManager } = contracts;
  return async (toBlock) => {
    if (toBlock > scanned) {
      const [created, responded] = await Promise.all([
        taskManager.queryFilter("TaskCreated", scanned + 1, toBlock),
        taskManager.queryFilter("TaskResponded", scanned + 1, toBlock),
      ]);
      counts.created += created.length;
      counts.certified += responded.length;
      scanned = toBlock;
    }
    return { ...counts };
  };
}

/** The summary's chain part: "block 123 | tasks 10 created, 9 certified". */
export function chainSummary(anvil: Anvil, contracts: NektarContracts): SummaryPart {
  const count = taskCounter(contracts);
  return async () => {
    const block = await anvil.blockNumber();
    const { created, certified } = await count(block);
    return `block ${block} | tasks ${created} created, ${certified} certified`;
  };
}
