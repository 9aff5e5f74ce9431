/**
 * Slashing protection backed by an fsynced append-only log in the node's data directory.
 *
 * Check and record are one synchronous step in memory, so two concurrent requests for the same
 * validator cannot both pass; the promise resolves only after the record's line is fsynced, so a
 * signature released on that promise can never be forgotten by a crash or restart. A process
 * lock keeps a second node process off the same store.
 */
import { readFile, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { NektarError } from "../../core/errors.js";
import { fromHex, toHex } from "../../core/hex.js";
import { AttestationHistory } from "./attestation.js";
import { BlockHistory } from "./block.js";
import { SlashingProtectionError, SlashingProtectionReason } from "./errors.js";
import type { ParsedInterchange, ValidatorInterchange } from "./interchange.js";
import { AppendLog } from "./log.js";
import type { AttestationVote, BlockProposal, ImportSummary, SlashingProtection } from "./types.js";

export const LOG_FILE = "slashing-protection.log";
const LOCK_FILE = "slashing-protection.lock";

/**
 * Records kept per validator (older ones fold into the low watermarks at compaction) and when
 * compaction is due: once the log holds `compactAfterLines` lines and twice the live records.
 * 4096 attestations are 18 days of epochs: far beyond anything a beacon node asks to sign.
 */
export interface Retention {
  attestations: number;
  blocks: number;
  compactAfterLines: number;
}
const DEFAULT_RETENTION: Retention = { attestations: 4096, blocks: 1024, compactAfterLines: 65536 };

/** One line of the log. Pubkeys and roots are lowercase hex; a null root is unknown. */
type LogRecord =
  | { k: "genesis"; root: string }
  | { k: "block"; pubkey: string; slot: number; root: string | null }
  | { k: "attestation"; pubkey: string; source: number; target: number; root: string | null }
  | { k: "floor"; pubkey: string; slot: number | null; source: number | null; target: number | null };

class ValidatorHistory {
  readonly blocks = new BlockHistory();
  readonly attestations = new AttestationHistory();
}

export interface OpenOptions {
  /** The network's genesis validators root: recorded on first open, checked on every later one. */
  genesisValidatorsRoot?: Uint8Array;
  retention?: Retention;
}

export class FileSlashingProtection implements SlashingProtection {
  private readonly histories = new Map<string, ValidatorHistory>();
  private genesisRoot: string | null = null;
  private closed = false;

  private constructor(
    readonly dataDir: string,
    private readonly log: AppendLog,
    private readonly unlock: () => Promise<void>,
    private readonly retention: Retention,
  ) {}

  /** Opens (or creates) the store in `dataDir`, replaying its log. */
  static async open(dataDir: string, options: OpenOptions = {}): Promise<FileSlashingProtection> {
    const unlock = await lockDirectory(dataDir);
    let log: AppendLog | undefined;
    try {
      const opened = await AppendLog.open(join(dataDir, LOG_FILE));
      log = opened.log;
      const { records } = opened;
      const store = new FileSlashingProtection(dataDir, log, unlock, options.retention ?? DEFAULT_RETENTION);
      for (const [i, record] of records.entries()) store.replay(record as LogRecord, i + 1);
      log.compactWhen(
        (lines) => store.compactionDue(lines),
        () => store.snapshot(),
      );
      if (options.genesisValidatorsRoot) await store.useGenesisValidatorsRoot(toHex(options.genesisValidatorsRoot));
      if (store.compactionDue(log.linesSinceRewrite)) await log.compact();
      return store;
    } catch (err) {
      await log?.close();
      await unlock();
      throw err;
    }
  }

  async checkAndInsertBlockProposal(pubkey: Uint8Array, block: BlockProposal): Promise<void> {
    this.assertOpen();
    const key = checkBytes(pubkey, 48, "validator public key");
    const root = checkBytes(block.signingRoot, 32, "signing root");
    checkNumber(block.slot, "slot");
    const blocks = this.history(key).blocks;
    if (blocks.check(block.slot, root, `validator ${key}`) === "repeat") return this.durable(this.log.sync());
    blocks.insert({ slot: block.slot, signingRoot: root });
    return this.durable(this.log.append([{ k: "block", pubkey: key, slot: block.slot, root } satisfies LogRecord]));
  }

  async checkAndInsertAttestation(pubkey: Uint8Array, attestation: AttestationVote): Promise<void> {
    this.assertOpen();
    const key = checkBytes(pubkey, 48, "validator public key");
    const root = checkBytes(attestation.signingRoot, 32, "signing root");
    const { sourceEpoch: source, targetEpoch: target } = attestation;
    checkNumber(source, "source epoch");
    checkNumber(target, "target epoch");
    const attestations = this.history(key).attestations;
    if (attestations.check(source, target, root, `validator ${key}`) === "repeat") return this.durable(this.log.sync());
    attestations.insert({ sourceEpoch: source, targetEpoch: target, signingRoot: root });
    return this.durable(this.log.append([{ k: "attestation", pubkey: key, source, target, root } satisfies LogRecord]));
  }

  /**
   * Merges interchange data: every record is kept, and each validator's low watermarks rise to
   * the highest imported slot, source and target, since the interchange may lack the roots (and
   * other clients may have signed around its records). Keeps the stricter of old and new.
   * Validated whole before anything is written.
   */
  async importInterchange(interchange: ParsedInterchange, what: string): Promise<ImportSummary> {
    this.assertOpen();
    const expected = this.requireGenesisRoot();
    if (interchange.genesisValidatorsRoot !== expected) {
      throw new NektarError(
        `${what}: genesis_validators_root ${interchange.genesisValidatorsRoot} is not this store's network (${expected}); nothing imported`,
      );
    }
    const summary: ImportSummary = { validators: 0, blocks: 0, attestations: 0 };
    const records: LogRecord[] = [];
    const pubkeys = new Set<string>();
    for (const v of interchange.validators) {
      pubkeys.add(v.pubkey);
      for (const b of v.blocks) records.push({ k: "block", pubkey: v.pubkey, slot: b.slot, root: b.signingRoot });
      for (const a of v.attestations) {
        records.push({ k: "attestation", pubkey: v.pubkey, source: a.sourceEpoch, target: a.targetEpoch, root: a.signingRoot });
      }
      records.push(floorOf(v));
      summary.blocks += v.blocks.length;
      summary.attestations += v.attestations.length;
    }
    summary.validators = pubkeys.size;
    for (const [i, record] of records.entries()) this.replay(record, i);
    await this.durable(this.log.append(records));
    return summary;
  }

  /**
   * The interchange of all validators, or of `pubkeys` (0x hex); refuses a pubkey it has no data for.
   * Only what is on disk: it resolves once every record it holds is written and fsynced, so an
   * export never shows a vote a crash could still take back.
   */
  async exportInterchange(pubkeys?: readonly string[]): Promise<ParsedInterchange> {
    this.assertOpen();
    const genesisValidatorsRoot = this.requireGenesisRoot();
    const keys = pubkeys?.map((p) => toHex(fromHex(p, `pubkey ${p}`, 48))) ?? [...this.histories.keys()].sort();
    const validators = keys.map((pubkey): ValidatorInterchange => {
      const history = this.histories.get(pubkey);
      if (!history) throw new NektarError(`pubkey ${pubkey}: no slashing protection data for this validator in ${this.dataDir}`);
      return exportHistory(pubkey, history);
    });
    await this.durable(this.log.sync());
    return { genesisValidatorsRoot, validators };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.close();
    await this.unlock();
  }

  private history(pubkey: string): ValidatorHistory {
    let history = this.histories.get(pubkey);
    if (!history) {
      history = new ValidatorHistory();
      this.histories.set(pubkey, history);
    }
    return history;
  }

  /** Applies one record from the log (or an import) without checking it against the rules. */
  private replay(record: LogRecord, line: number): void {
    switch (record.k) {
      case "genesis":
        this.genesisRoot = record.root;
        return;
      case "block":
        return this.history(record.pubkey).blocks.merge({ slot: record.slot, signingRoot: record.root });
      case "attestation":
        return this.history(record.pubkey).attestations.merge({
          sourceEpoch: record.source,
          targetEpoch: record.target,
          signingRoot: record.root,
        });
      case "floor": {
        const history = this.history(record.pubkey);
        if (record.slot !== null) history.blocks.raiseFloor(record.slot);
        if (record.source !== null && record.target !== null) history.attestations.raiseFloors(record.source, record.target);
        return;
      }
      default:
        throw new NektarError(`slashing protection log ${this.dataDir}/${LOG_FILE}: line ${line}: unknown record ${JSON.stringify(record)}`);
    }
  }

  /** The whole state as log records, after pruning old records into the watermarks. */
  private snapshot(): LogRecord[] {
    const records: LogRecord[] = this.genesisRoot === null ? [] : [{ k: "genesis", root: this.genesisRoot }];
    for (const [pubkey, history] of this.histories) {
      history.blocks.prune(this.retention.blocks);
      history.attestations.prune(this.retention.attestations);
      const { floor } = history.blocks;
      const { sourceFloor, targetFloor } = history.attestations;
      if (floor !== null || sourceFloor !== null) records.push({ k: "floor", pubkey, slot: floor, source: sourceFloor, target: targetFloor });
      for (const b of history.blocks.records()) records.push({ k: "block", pubkey, slot: b.slot, root: b.signingRoot });
      for (const a of history.attestations.records()) {
        records.push({ k: "attestation", pubkey, source: a.sourceEpoch, target: a.targetEpoch, root: a.signingRoot });
      }
    }
    return records;
  }

  private compactionDue(lines: number): boolean {
    if (lines <= this.retention.compactAfterLines) return false;
    // Counted as after pruning: a log of one long history is due too.
    const { blocks, attestations } = this.retention;
    let live = 0;
    for (const h of this.histories.values()) live += Math.min(h.blocks.size, blocks) + Math.min(h.attestations.size, attestations) + 1;
    return lines > 2 * live;
  }

  private async useGenesisValidatorsRoot(root: string): Promise<void> {
    if (this.genesisRoot === null) {
      this.genesisRoot = root;
      await this.log.append([{ k: "genesis", root } satisfies LogRecord]);
    } else if (this.genesisRoot !== root) {
      throw new NektarError(
        `slashing protection in ${this.dataDir} belongs to the network with genesis validators root ${this.genesisRoot}, not ${root}`,
      );
    }
  }

  private requireGenesisRoot(): string {
    if (this.genesisRoot === null) {
      throw new NektarError(`slashing protection in ${this.dataDir} has no genesis validators root yet: open it with the network's`);
    }
    return this.genesisRoot;
  }

  private assertOpen(): void {
    if (this.closed) throw new NektarError(`slashing protection in ${this.dataDir} is closed`);
  }

  private async durable(written: Promise<void>): Promise<void> {
    try {
      await written;
    } catch (err) {
      throw new SlashingProtectionError(SlashingProtectionReason.StorageFailure, (err as Error).message, { cause: err });
    }
  }
}

/** Watermarks at the highest imported slot, source and target. */
function floorOf(v: ValidatorInterchange): LogRecord {
  const max = (xs: number[]): number | null => (xs.length === 0 ? null : Math.max(...xs));
  const source = max(v.attestations.map((a) => a.sourceEpoch));
  const target = max(v.attestations.map((a) => a.targetEpoch));
  return { k: "floor", pubkey: v.pubkey, slot: max(v.blocks.map((b) => b.slot)), source, target };
}

/**
 * A validator's records, plus a record without root at each watermark that no kept record
 * reaches (pruned history), so an importer minifying the file ends up at least as strict.
 */
function exportHistory(pubkey: string, history: ValidatorHistory): ValidatorInterchange {
  const blocks = history.blocks.records();
  const attestations = history.attestations.records();
  const { floor } = history.blocks;
  if (floor !== null && !blocks.some((b) => b.slot >= floor)) blocks.unshift({ slot: floor, signingRoot: null });
  const { sourceFloor, targetFloor } = history.attestations;
  if (sourceFloor !== null && targetFloor !== null) {
    const reached = attestations.some((a) => a.sourceEpoch >= sourceFloor) && attestations.some((a) => a.targetEpoch >= targetFloor);
    if (!reached) attestations.unshift({ sourceEpoch: sourceFloor, targetEpoch: targetFloor, signingRoot: null });
  }
  return { pubkey, blocks, attestations };
}

/** The bytes as hex, after checking their length. */
function checkBytes(bytes: Uint8Array, length: number, what: string): string {
  if (bytes.length !== length) throw new NektarError(`${what}: expected ${length} bytes, got ${bytes.length}`);
  return toHex(bytes);
}

function checkNumber(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new NektarError(`${what} ${n}: not a slot or epoch number`);
}

const openInProcess = new Set<string>();

/**
 * One process per store: two signers on one store could each pass a check the other would fail.
 * The lock file holds the owner's pid; a lock whose process is gone (a crash) is taken over.
 * In a container the restarted node may get its predecessor's pid, so our own pid counts as gone
 * unless this process holds the store already.
 */
async function lockDirectory(dataDir: string): Promise<() => Promise<void>> {
  const key = resolve(dataDir);
  if (openInProcess.has(key)) throw new NektarError(`slashing protection in ${dataDir} is already open in this process`);
  const path = join(dataDir, LOCK_FILE);
  try {
    await writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NektarError(`data directory ${dataDir} does not exist`);
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const owner = Number((await readFile(path, "utf8")).trim());
    if (owner !== process.pid && isAlive(owner)) {
      throw new NektarError(`slashing protection in ${dataDir} is in use by process ${owner}: stop it first`);
    }
    await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
  }
  openInProcess.add(key);
  return async () => {
    openInProcess.delete(key);
    await unlink(path).catch(() => undefined);
  };
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
