/**
 * The worker's durable record, its slashing protection: every response it signed (task id ->
 * result hash, result and signature) and the last block whose tasks it has all handled. A
 * task's response is signed once: asked again (a restart, the same task heard twice) the worker
 * re-sends the recorded response and never executes the task again, since an executor may
 * answer differently the second time and two signed results for one task are double-sign
 * evidence. A response is on disk before it leaves the node.
 *
 * One file per AVS in the worker's data dir, `signed-tasks-<avsId>.json`. Without a data dir the
 * record lives in memory for the process's lifetime (in-process use, e.g. the devnet).
 * Responses are kept until their response window has been closed for PRUNE_MARGIN_BLOCKS: the
 * worker answers no task whose window is closed, so it can never be asked to sign one again.
 */
import { join } from "node:path";
import { type Static, Type } from "@sinclair/typebox";

import { NektarError } from "../core/errors.js";
import { Hex, TaskId } from "./records.js";
import { StateFile, readStateFile } from "./store.js";

/** Blocks past a response window before its record is dropped: headroom for a reorg. */
const PRUNE_MARGIN_BLOCKS = 64;

const SignedResponseSchema = Type.Object(
  {
    taskId: TaskId,
    /** Block of the task's TaskCreated event. */
    block: Type.Integer({ minimum: 0 }),
    responseDeadline: Type.Integer({ minimum: 0 }),
    resultHash: Hex("keccak256(result)", 32),
    result: Hex("The executor's result"),
    signature: Hex("BLS signature of the response digest, compressed", 96),
  },
  { additionalProperties: false },
);
export type SignedResponse = Static<typeof SignedResponseSchema>;

const WorkerStateSchema = Type.Object(
  {
    version: Type.Literal(1),
    chainId: Type.Integer({ minimum: 1 }),
    taskManager: Type.String({ pattern: "^0x[0-9a-f]{40}$" }),
    avsId: Type.Integer({ minimum: 1 }),
    operatorId: Hex("The operator whose key signed", 32),
    /** Every TaskCreated up to this block is handled; absent until the first one is. */
    processedBlock: Type.Optional(Type.Integer({ minimum: 0 })),
    signed: Type.Array(SignedResponseSchema),
  },
  { additionalProperties: false },
);
type WorkerState = Static<typeof WorkerStateSchema>;

export interface SignedTasksOptions {
  /** Where the record is kept; in memory only if absent. */
  dataDir?: string;
  chainId: number;
  taskManager: string;
  avsId: number;
  operatorId: string;
}

const WHAT = "AVS worker record";

export class SignedTasks {
  private readonly signed = new Map<number, SignedResponse>();
  private processed: number | undefined;

  private readonly file: StateFile | undefined;

  /** `path`: the file the record is kept in; in memory if undefined. */
  private constructor(
    private readonly owner: Omit<WorkerState, "version" | "processedBlock" | "signed">,
    path: string | undefined,
  ) {
    this.file = path === undefined ? undefined : new StateFile(path, WHAT, () => this.state());
  }

  /** The record in `options.dataDir` (created on first use), or an empty one in memory. */
  static async open(options: SignedTasksOptions): Promise<SignedTasks> {
    const owner = { chainId: options.chainId, taskManager: options.taskManager.toLowerCase(), avsId: options.avsId, operatorId: options.operatorId.toLowerCase() };
    if (options.dataDir === undefined) return new SignedTasks(owner, undefined);
    const path = join(options.dataDir, `signed-tasks-${options.avsId}.json`);
    const record = new SignedTasks(owner, path);
    const stored = await readStateFile(path, WorkerStateSchema, WHAT);
    if (stored === undefined) {
      await record.file!.prepare();
      return record;
    }
    for (const key of ["chainId", "taskManager", "avsId", "operatorId"] as const) {
      if (stored[key] !== owner[key]) {
        throw new NektarError(
          `${WHAT} ${path} belongs to ${key} ${stored[key]}, this worker's is ${owner[key]}: give each operator, AVS and chain its own data dir`,
        );
      }
    }
    record.processed = stored.processedBlock;
    for (const response of stored.signed) record.signed.set(response.taskId, response);
    return record;
  }

  /** Whether the record survives a restart (a data dir is configured). */
  get durable(): boolean {
    return this.file !== undefined;
  }

  /** Every TaskCreated up to this block is handled; undefined on a first start. */
  get processedBlock(): number | undefined {
    return this.processed;
  }

  get(taskId: number): SignedResponse | undefined {
    return this.signed.get(taskId);
  }

  /**
   * Records `response` unless its task already has one, and returns the one recorded: the
   * check and the insert are one synchronous step, so two answers of one task cannot both sign.
   * Call save() before the response leaves the node.
   */
  add(response: SignedResponse): SignedResponse {
    const existing = this.signed.get(response.taskId);
    if (existing !== undefined) return existing;
    this.signed.set(response.taskId, response);
    return response;
  }

  /** Signed responses of tasks up to the processed block whose response window is still open at `head`. */
  openAt(head: number): SignedResponse[] {
    const processed = this.processed ?? -1;
    return [...this.signed.values()].filter((r) => r.block <= processed && r.responseDeadline >= head);
  }

  /** Moves the processed block up to `block` and forgets responses long past their window; true if anything changed. */
  advance(block: number, head: number): boolean {
    let changed = false;
    if (this.processed === undefined || block > this.processed) {
      this.processed = block;
      changed = true;
    }
    for (const [taskId, r] of this.signed) {
      if (r.responseDeadline + PRUNE_MARGIN_BLOCKS < head) {
        this.signed.delete(taskId);
        changed = true;
      }
    }
    return changed;
  }

  /** Resolves once the record as of this call is on disk (at once in memory). */
  save(): Promise<void> {
    return this.file?.save() ?? Promise.resolve();
  }

  private state(): WorkerState {
    return { version: 1, ...this.owner, processedBlock: this.processed, signed: [...this.signed.values()] };
  }
}
