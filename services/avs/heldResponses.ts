/**
 * The aggregator's durable copy of the worker messages it accepted for tasks not yet certified
 * (signed results and failure reports), so a restart mid-task loses nothing: at start they are
 * replayed through the same checks as on arrival and the task certifies once enough are in.
 * A message is on disk before the aggregator acknowledges it (a worker does not send an
 * acknowledged response again); a task's messages are dropped once it is certified or failed.
 *
 * Messages are kept as their SSZ wire bytes, with the peer that sent them (the collector checks
 * it against the operator's registered peer id) and when. One file, `held-responses.json` in the
 * aggregator's data dir; in memory only without one.
 */
import { join } from "node:path";
import { type Static, Type } from "@sinclair/typebox";

import { NektarError } from "../core/errors.js";
import { fromHex, toHex } from "../core/hex.js";
import { TaskResponseMessage } from "./protocol.js";
import { Hex, TaskId } from "./records.js";
import { StateFile, readStateFile } from "./store.js";

const HeldSchema = Type.Object(
  {
    taskId: TaskId,
    message: Hex("The TaskResponseMessage, SSZ-serialized"),
    from: Type.String({ minLength: 1, maxLength: 128, description: "The libp2p peer id it came from" }),
    receivedAt: Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}T[0-9:.]+Z$", description: "ISO 8601, UTC" }),
  },
  { additionalProperties: false },
);

const AggregatorStateSchema = Type.Object(
  {
    version: Type.Literal(1),
    chainId: Type.Integer({ minimum: 1 }),
    taskManager: Type.String({ pattern: "^0x[0-9a-f]{40}$" }),
    held: Type.Array(HeldSchema),
  },
  { additionalProperties: false },
);
type AggregatorState = Static<typeof AggregatorStateSchema>;

export interface HeldResponse {
  message: TaskResponseMessage;
  from: string;
  receivedAt: Date;
}

const WHAT = "AVS aggregator record";

export class HeldResponses {
  private readonly byTask = new Map<number, HeldResponse[]>();

  private readonly file: StateFile | undefined;

  /** `path`: the file the record is kept in; in memory if undefined. */
  private constructor(
    private readonly owner: { chainId: number; taskManager: string },
    path: string | undefined,
  ) {
    this.file = path === undefined ? undefined : new StateFile(path, WHAT, () => this.state());
  }

  /**
   * The record in `dataDir` (created on first use), or an empty one in memory, and the
   * messages it held: the caller replays them (and so holds them again).
   */
  static async open(options: { dataDir?: string; chainId: number; taskManager: string }): Promise<{ held: HeldResponses; stored: HeldResponse[] }> {
    const owner = { chainId: options.chainId, taskManager: options.taskManager.toLowerCase() };
    if (options.dataDir === undefined) return { held: new HeldResponses(owner, undefined), stored: [] };
    const path = join(options.dataDir, "held-responses.json");
    const held = new HeldResponses(owner, path);
    const state = await readStateFile(path, AggregatorStateSchema, WHAT);
    if (state === undefined) {
      await held.file!.prepare();
      return { held, stored: [] };
    }
    for (const key of ["chainId", "taskManager"] as const) {
      if (state[key] !== owner[key]) throw new NektarError(`${WHAT} ${path} belongs to ${key} ${state[key]}, this aggregator's is ${owner[key]}: give each chain its own data dir`);
    }
    const stored = state.held.map((h, i) => {
      let message: TaskResponseMessage;
      try {
        message = TaskResponseMessage.deserialize(fromHex(h.message, `${WHAT} ${path}: /held/${i}/message`));
      } catch (err) {
        throw new NektarError(`${WHAT} ${path}: /held/${i}/message: not a task response (${(err as Error).message})`, { cause: err });
      }
      if (message.taskId !== h.taskId) throw new NektarError(`${WHAT} ${path}: /held/${i}: the message is for task ${message.taskId}, not ${h.taskId}`);
      return { message, from: h.from, receivedAt: new Date(h.receivedAt) };
    });
    return { held, stored };
  }

  /** Keeps `response` (call save() before acknowledging it). */
  hold(response: HeldResponse): void {
    const list = this.byTask.get(response.message.taskId);
    if (list === undefined) this.byTask.set(response.message.taskId, [response]);
    else list.push(response);
  }

  /** Drops the task's messages (it is certified or failed); resolves once that is on disk. */
  release(taskId: number): Promise<void> {
    return this.byTask.delete(taskId) ? this.save() : Promise.resolve();
  }

  /** Resolves once the record as of this call is on disk (at once in memory). */
  save(): Promise<void> {
    return this.file?.save() ?? Promise.resolve();
  }

  private state(): AggregatorState {
    const held = [...this.byTask.values()].flat().map((h) => ({
      taskId: h.message.taskId,
      message: toHex(TaskResponseMessage.serialize(h.message)),
      from: h.from,
      receivedAt: h.receivedAt.toISOString(),
    }));
    return { version: 1, ...this.owner, held };
  }
}
