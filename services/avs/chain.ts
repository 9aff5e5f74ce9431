/**
 * The AVS service's view of the chain, on the typed contract client: tasks created and
 * followed, the operator set of an AVS at a task's reference block, responses submitted,
 * challenge windows and slashing evidence. The one component that talks to the execution node,
 * so the worker, aggregator and gateway can each be tested beside a real anvil.
 */
import type { PublicKey } from "@chainsafe/blst";
import { JsonRpcProvider, Wallet, ZeroAddress, getAddress, hexlify, toBeHex, toUtf8Bytes, toUtf8String, zeroPadValue } from "ethers";
import type { ContractRunner, ContractTransactionResponse, Log, Provider, Signer, TransactionReceipt } from "ethers";

import { AVSDirectoryAbi, OperatorRegistryAbi, SlasherAbi, TaskManagerAbi } from "../../contracts/generated/index.js";
import {
  attach,
  decodeRevert,
  events,
  g1FromPublicKey,
  g2FromSignature,
  plain,
  operatorIdOf,
  publicKeyFromG1,
  responseDigest,
} from "../../contracts/client/index.js";
import type {
  AVSDirectory,
  AVSDirectoryEvents,
  AggregateResponse,
  OperatorRegistry,
  Slasher,
  SlasherEvents,
  Task,
  TaskCreated,
  TaskManager,
  TaskManagerEvents,
  TaskParamsStructOutput,
  TaskResponded,
  TaskResponse,
} from "../../contracts/client/index.js";
import type { Signature } from "@chainsafe/blst";
import { NektarError } from "../core/errors.js";
import type { ChainConfig } from "./config.js";

/** An operator of an AVS as of one block: what the aggregator weighs and checks responses against. */
export interface Member {
  address: string;
  operatorId: string;
  publicKey: PublicKey;
  /** libp2p peer id registered with the operator (the UTF-8 bytes of its base58 form). */
  peerId: string;
  stake: bigint;
}

export interface OperatorSet {
  avsId: number;
  block: number;
  totalStake: bigint;
  /** Keyed by operator id (0x-lowercase). */
  members: ReadonlyMap<string, Member>;
}

/** Two signed results of one task by one operator: what Slasher.proposeDoubleSign takes. */
export interface DoubleSignEvidence {
  task: Task;
  operatorId: string;
  publicKey: PublicKey;
  resultA: string;
  signatureA: Signature;
  resultB: string;
  signatureB: Signature;
}

/**
 * A result an operator signed for a task whose final certificate holds another: what
 * Slasher.proposeContradiction takes. The outvoted operator's one signature is the evidence.
 */
export interface ContradictionEvidence {
  task: Task;
  /** The certified response, as the TaskResponded event carries it. */
  response: TaskResponse;
  operatorId: string;
  publicKey: PublicKey;
  resultHash: string;
  signature: Signature;
}

/** How the operator registry stores a peer id: the UTF-8 bytes of its base58 string. */
export function encodePeerId(peerId: string): Uint8Array {
  return toUtf8Bytes(peerId);
}

export class AvsChain {
  readonly taskManager: TaskManager;
  readonly directory: AVSDirectory;
  readonly registry: OperatorRegistry;
  readonly slasher: Slasher | undefined;
  private chainId: bigint | undefined;
  private readonly keys = new Map<string, { publicKey: PublicKey; peerId: string }>();
  /** Transactions are populated and sent one at a time (each takes the account's next nonce); receipts are awaited concurrently. */
  private sending: Promise<unknown> = Promise.resolve();

  constructor(
    readonly config: ChainConfig,
    readonly provider: Provider,
    /** Sends transactions; read-only without one. */
    readonly signer?: Signer,
  ) {
    const runner: ContractRunner = signer ?? provider;
    this.taskManager = attach<TaskManager>(config.taskManager, TaskManagerAbi, runner);
    this.directory = attach<AVSDirectory>(config.avsDirectory, AVSDirectoryAbi, runner);
    this.registry = attach<OperatorRegistry>(config.operatorRegistry, OperatorRegistryAbi, runner);
    this.slasher = config.slasher === undefined ? undefined : attach<Slasher>(config.slasher, SlasherAbi, runner);
  }

  /** Checks the node serves the configured chain; call once at start. */
  async connect(): Promise<void> {
    const { chainId } = await this.provider.getNetwork();
    if (chainId !== BigInt(this.config.chainId)) {
      throw new NektarError(`chain.chainId: the node at ${this.config.rpcUrl} serves chain ${chainId}, not ${this.config.chainId}`);
    }
    this.chainId = chainId;
  }

  /** The 32 bytes an operator signs for `resultHash` as the result of `taskId`. */
  digest(taskId: bigint | number, resultHash: string): Uint8Array {
    if (this.chainId === undefined) throw new Error("AvsChain.connect() not called");
    return responseDigest(this.chainId, this.config.taskManager, taskId, resultHash);
  }

  blockNumber(): Promise<number> {
    return this.provider.getBlockNumber();
  }

  /**
   * Sends the transaction `send` makes, after every earlier one of this account was sent, and
   * waits for its receipt. Sending in order keeps nonces right without a nonce manager, which
   * would leave a gap whenever a gas estimate reverts.
   */
  private async transact(send: () => Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
    const sent = this.sending.then(send);
    this.sending = sent.catch(() => undefined);
    const receipt = await (await sent).wait();
    if (receipt === null) throw new NektarError("transaction dropped: no receipt");
    return receipt;
  }

  /** Creates a task judged at the previous block (the signer must be the AVS's task creator). */
  async createTask(avsId: number, input: Uint8Array): Promise<TaskCreated & { blockNumber: number; txHash: string }> {
    try {
      const receipt = await this.transact(async () => this.taskManager.createTask(avsId, input, await this.provider.getBlockNumber()));
      return { ...events<TaskManagerEvents>(this.taskManager).one(receipt, "TaskCreated"), blockNumber: receipt.blockNumber, txHash: receipt.hash };
    } catch (err) {
      throw revertError(err, `create a task for AVS ${avsId}`);
    }
  }

  /**
   * Polls the node for new blocks and the task manager's events in them (and the AVS
   * directory's opt-ins), from `fromBlock` (default: the next block) on, and hands each to
   * `handlers` in order. Polling getLogs over block ranges rather than node-side filters:
   * nothing to uninstall, nothing lost if the node restarts. A range from the past (a restarted
   * worker catching up) is read in bounded steps, as nodes cap the blocks one getLogs may span.
   */
  follow(handlers: FollowHandlers, options: { fromBlock?: number } = {}): Follower {
    const tm = this.taskManager.interface;
    const names = ["TaskCreated", "TaskResponded", "TaskChallenged", "ChallengeResolved", "ChallengeExpired"] as const;
    const directory = getAddress(this.config.avsDirectory);
    // The directory's opt-ins only for a follower that handles them (the aggregator).
    const optIns = handlers.operatorOptedIn !== undefined;
    const topics = names.map((n) => tm.getEvent(n)!.topicHash);
    if (optIns) topics.push(this.directory.interface.getEvent("OperatorOptedIn")!.topicHash);
    const addresses = optIns ? [this.config.taskManager, directory] : [this.config.taskManager];
    let last = options.fromBlock === undefined ? undefined : options.fromBlock - 1;
    let stopped = false;
    let polling: Promise<void> = Promise.resolve();
    const deliver = (log: Log): void => {
      if (getAddress(log.address) === directory) {
        const parsed = this.directory.interface.parseLog(log);
        if (parsed !== null) handlers.operatorOptedIn?.(plain(parsed.args, parsed.fragment.inputs) as AVSDirectoryEvents["OperatorOptedIn"], log.blockNumber);
        return;
      }
      const parsed = tm.parseLog(log);
      if (parsed === null) return;
      const event = plain(parsed.args, parsed.fragment.inputs);
      if (parsed.name === "TaskCreated") handlers.taskCreated?.(event as TaskCreated, log.blockNumber);
      else if (parsed.name === "TaskResponded") handlers.taskResponded?.(event as TaskResponded, log.blockNumber);
      else if (parsed.name === "TaskChallenged") handlers.taskChallenged?.(event as TaskManagerEvents["TaskChallenged"]);
      else if (parsed.name === "ChallengeResolved") handlers.challengeResolved?.(event as TaskManagerEvents["ChallengeResolved"]);
      else if (parsed.name === "ChallengeExpired") handlers.challengeExpired?.(event as TaskManagerEvents["ChallengeExpired"]);
    };
    const poll = async (): Promise<void> => {
      const head = await this.provider.getBlockNumber();
      if (last === undefined) last = head;
      while (last < head && !stopped) {
        const toBlock = Math.min(head, last + MAX_LOG_RANGE);
        const logs = await this.provider.getLogs({ address: addresses, topics: [topics], fromBlock: last + 1, toBlock });
        for (const log of logs) {
          if (stopped) return;
          deliver(log);
        }
        last = toBlock;
        if (!stopped) handlers.block?.(toBlock);
      }
    };
    const tick = (): void => {
      polling = poll().catch((err: unknown) => handlers.error?.(err as Error));
    };
    tick();
    const timer = setInterval(() => {
      void polling.then(() => {
        if (!stopped) tick();
      });
    }, this.config.pollingIntervalMs);
    return {
      ready: () => polling,
      stop: async () => {
        stopped = true;
        clearInterval(timer);
        await polling;
      },
    };
  }

  /** The TaskCreated event of `taskId`, or null if there is no such task. */
  async findTask(taskId: number): Promise<(TaskCreated & { blockNumber: number; txHash: string }) | null> {
    const found = await this.findEvent("TaskCreated", taskId);
    return found === null ? null : { ...(found.event as TaskCreated), blockNumber: found.blockNumber, txHash: found.txHash };
  }

  /** The TaskResponded event of `taskId` (its certificate on-chain), or null. */
  async findResponse(taskId: number): Promise<(TaskResponded & { blockNumber: number; txHash: string }) | null> {
    const found = await this.findEvent("TaskResponded", taskId);
    return found === null ? null : { ...(found.event as TaskResponded), blockNumber: found.blockNumber, txHash: found.txHash };
  }

  private async findEvent(name: "TaskCreated" | "TaskResponded", taskId: number) {
    const fragment = this.taskManager.interface.getEvent(name)!;
    const logs = await this.provider.getLogs({
      address: this.config.taskManager,
      topics: [fragment.topicHash, zeroPadValue(toBeHex(taskId), 32)],
      fromBlock: this.config.deploymentBlock ?? 0,
      toBlock: "latest",
    });
    const log = logs[0];
    if (log === undefined) return null;
    const parsed = this.taskManager.interface.parseLog(log)!;
    return { event: plain(parsed.args, parsed.fragment.inputs), blockNumber: log.blockNumber, txHash: log.transactionHash };
  }

  /** Whether an AVS `avsId` is registered. */
  async avsExists(avsId: number): Promise<boolean> {
    try {
      return (await this.directory.ownerOf(avsId)) !== ZeroAddress;
    } catch {
      return false;
    }
  }

  async taskParams(avsId: number): Promise<TaskParamsStructOutput> {
    try {
      return await this.directory.taskParams(avsId);
    } catch (err) {
      throw revertError(err, `read AVS ${avsId}`);
    }
  }

  /** Whether the operator with `publicKey` is registered and opted in to `avsId` now. */
  async isMember(avsId: number, publicKey: PublicKey): Promise<boolean> {
    const address = await this.registry.operatorOf(operatorIdOf(publicKey));
    if (address === ZeroAddress) return false;
    return (await this.directory.avsIdsOf(address)).some((id) => Number(id) === avsId);
  }

  /** Every operator that opted in to `avsId` up to `block` (some may have opted out since), by operator id. */
  private async optedIn(avsId: number, block: number | "latest"): Promise<Map<string, string>> {
    const fragment = this.directory.interface.getEvent("OperatorOptedIn")!;
    const logs = await this.provider.getLogs({
      address: this.config.avsDirectory,
      topics: [fragment.topicHash, zeroPadValue(toBeHex(avsId), 32)],
      fromBlock: this.config.deploymentBlock ?? 0,
      toBlock: block,
    });
    const candidates = new Map<string, string>();
    for (const log of logs) {
      const parsed = this.directory.interface.parseLog(log)!;
      candidates.set((parsed.args.operatorId as string).toLowerCase(), getAddress(parsed.args.operator as string));
    }
    return candidates;
  }

  /** The libp2p peer ids of every operator that opted in to `avsId` up to `block`: who may send it responses. */
  async peersOf(avsId: number, block: number | "latest" = "latest"): Promise<{ address: string; peerId: string }[]> {
    const candidates = await this.optedIn(avsId, block);
    return Promise.all([...candidates.values()].map(async (address) => ({ address, peerId: await this.peerIdOf(address) })));
  }

  /** The libp2p peer id the operator at `address` registered. */
  async peerIdOf(address: string): Promise<string> {
    return (await this.operatorKeys(address)).peerId;
  }

  /**
   * The operators of `avsId` at the end of `block` (an earlier block than the latest), with
   * their stakes, keys and peer ids: every operator that opted in up to that block, kept if
   * still a member then.
   */
  async operatorsAt(avsId: number, block: number): Promise<OperatorSet> {
    const candidates = await this.optedIn(avsId, block);
    const members = new Map<string, Member>();
    await Promise.all(
      [...candidates].map(async ([operatorId, address]) => {
        const [[member, stake], keys] = await Promise.all([this.directory.memberAt(avsId, operatorId, block), this.operatorKeys(address)]);
        if (member) members.set(operatorId, { address, operatorId, stake, ...keys });
      }),
    );
    const [, totalStake] = await this.directory.quorumAt(avsId, block);
    return { avsId, block, totalStake, members };
  }

  /** An operator's BLS key and peer id (the key never changes; cached). */
  private async operatorKeys(address: string): Promise<{ publicKey: PublicKey; peerId: string }> {
    let keys = this.keys.get(address);
    if (keys === undefined) {
      const [point, peerId] = await Promise.all([this.registry.publicKeyOf(address), this.registry.peerIdOf(address)]);
      keys = { publicKey: publicKeyFromG1(point), peerId: toUtf8String(peerId) };
      this.keys.set(address, keys);
    }
    return keys;
  }

  /**
   * Checks the response with checkSignatures (one execution: a response that would revert fails
   * here, at no cost, with the contract's reason), then sends respondToTask with a gas limit
   * from its known cost instead of an estimate: eth_estimateGas binary-searches by executing
   * the pairing check a dozen times or more (measured: 0.4-1.2 s of the submission on anvil).
   */
  async submitResponse(task: Task, resultHash: string, aggregate: AggregateResponse): Promise<TaskResponded & { blockNumber: number; txHash: string }> {
    try {
      const { nonSignerKeys, signature } = aggregate;
      await this.taskManager.checkSignatures(task, resultHash, nonSignerKeys, signature);
      const gasLimit = RESPONSE_GAS_BASE + RESPONSE_GAS_PER_NON_SIGNER * BigInt(nonSignerKeys.length);
      const receipt = await this.transact(() => this.taskManager.respondToTask(task, resultHash, nonSignerKeys, signature, { gasLimit }));
      if (receipt.status !== 1) throw new NektarError(`respondToTask ${receipt.hash} reverted`);
      return { ...events<TaskManagerEvents>(this.taskManager).one(receipt, "TaskResponded"), blockNumber: receipt.blockNumber, txHash: receipt.hash };
    } catch (err) {
      throw revertError(err, `respond to task ${task.taskId}`);
    }
  }

  /** The last block at which a response to `avsId`'s task responded at `respondedBlock` can be challenged. */
  async challengeDeadline(avsId: number, respondedBlock: number): Promise<number> {
    const params = await this.taskParams(avsId);
    return respondedBlock + Number(params.challengeWindowBlocks);
  }

  /** "none" | "open" | "upheld" | "rejected" | "expired" (TaskManager.ChallengeStatus). */
  async challengeStatus(taskId: number): Promise<ChallengeStatus> {
    const status = Number(await this.taskManager.challengeStatus(taskId));
    return CHALLENGE_STATUSES[status] ?? "none";
  }

  /** Proposes a slash for double signing; returns the proposal id. */
  async proposeDoubleSign(evidence: DoubleSignEvidence): Promise<{ proposalId: bigint; txHash: string }> {
    return this.proposeSlash(evidence, (slasher) =>
      slasher.proposeDoubleSign(
        evidence.task,
        evidence.resultA,
        g2FromSignature(evidence.signatureA),
        evidence.resultB,
        g2FromSignature(evidence.signatureB),
        g1FromPublicKey(evidence.publicKey),
      ),
    );
  }

  /** Proposes a slash for a signed result the task's final certificate contradicts; returns the proposal id. */
  async proposeContradiction(evidence: ContradictionEvidence): Promise<{ proposalId: bigint; txHash: string }> {
    return this.proposeSlash(evidence, (slasher) =>
      slasher.proposeContradiction(evidence.task, evidence.response, evidence.resultHash, g2FromSignature(evidence.signature), g1FromPublicKey(evidence.publicKey)),
    );
  }

  private async proposeSlash(
    evidence: { task: Task; operatorId: string },
    send: (slasher: Slasher) => Promise<ContractTransactionResponse>,
  ): Promise<{ proposalId: bigint; txHash: string }> {
    const slasher = this.slasher;
    if (slasher === undefined) throw new NektarError("chain.slasher: not configured, cannot submit slashing evidence");
    try {
      const receipt = await this.transact(() => send(slasher));
      const proposed = events<SlasherEvents>(slasher).one(receipt, "SlashProposed");
      return { proposalId: proposed.proposalId, txHash: receipt.hash };
    } catch (err) {
      throw revertError(err, `propose a slash of operator ${evidence.operatorId} for task ${evidence.task.taskId}`);
    }
  }
}

export interface FollowHandlers {
  taskCreated?(event: TaskCreated, blockNumber: number): void;
  taskResponded?(event: TaskResponded, blockNumber: number): void;
  taskChallenged?(event: TaskManagerEvents["TaskChallenged"]): void;
  challengeResolved?(event: TaskManagerEvents["ChallengeResolved"]): void;
  challengeExpired?(event: TaskManagerEvents["ChallengeExpired"]): void;
  /** An operator opted in to an AVS (any AVS: filter by avsId). */
  operatorOptedIn?(event: AVSDirectoryEvents["OperatorOptedIn"], blockNumber: number): void;
  /** After the events of each new head (or of each step of a range from the past). */
  block?(blockNumber: number): void;
  error?(err: Error): void;
}

/** Blocks one getLogs call spans at most (common node limits are 10,000 and up). */
const MAX_LOG_RANGE = 2_000;

export interface Follower {
  /** Resolves once the first poll is done: it fixes the starting block, or catches up to the head from `fromBlock`. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Gas of respondToTask (docs/contracts.md, measured on Prague): about 203,000 with no
 * non-signer and 5,200 per non-signer. The limit keeps half again as much headroom.
 */
const RESPONSE_GAS_BASE = 320_000n;
const RESPONSE_GAS_PER_NON_SIGNER = 8_000n;

export type ChallengeStatus = "none" | "open" | "upheld" | "rejected" | "expired";
const CHALLENGE_STATUSES: ChallengeStatus[] = ["none", "open", "upheld", "rejected", "expired"];

/** A provider for `config` polling at its interval, and optionally a wallet from a key in hex. */
export function connectChain(config: ChainConfig, secretKeyHex?: string): AvsChain & { close(): void } {
  const provider = new JsonRpcProvider(config.rpcUrl, config.chainId, {
    staticNetwork: true,
    pollingInterval: config.pollingIntervalMs,
  });
  const signer = secretKeyHex === undefined ? undefined : new Wallet(secretKeyHex, provider);
  return Object.assign(new AvsChain(config, provider, signer), { close: () => provider.destroy() });
}

/** A contract revert as a NektarError naming the custom error; anything else unchanged. */
export function revertError(err: unknown, action: string): Error {
  const decoded = decodeRevert(err);
  if (decoded === null) return err instanceof Error ? err : new Error(String(err));
  const args = decoded.args.map((a) => (typeof a === "bigint" ? a.toString() : typeof a === "string" ? a : hexlify(a as Uint8Array)));
  return new NektarError(`cannot ${action}: ${decoded.name}(${args.join(", ")})`, { cause: err });
}
