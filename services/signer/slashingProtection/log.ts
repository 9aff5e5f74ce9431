/**
 * An append-only, fsynced record log: the store's durability. Each record is one line,
 * `<json>\t<crc32 hex>\n`, so a write torn by a crash shows as a bad last line. Appends issued
 * while a write is in flight are batched into the next write and share its fdatasync (group
 * commit): under load one fsync covers many validators' records.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { NektarError } from "../../core/errors.js";
import { syncDirectory } from "../../core/store/files.js";

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class AppendLog {
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private failure: Error | null = null;
  private compaction: { due(lines: number): boolean; snapshot(): object[] } | null = null;
  private compactNow = false;
  /** Lines written since the log was last rewritten. */
  linesSinceRewrite = 0;

  private constructor(
    readonly path: string,
    private handle: FileHandle,
  ) {}

  /**
   * Reads every record of the log at `path` (creating it when absent) and opens it for appending.
   * A bad last line is a write the crash tore: it never completed, so nothing was signed on it,
   * and it is cut off. A bad line followed by good ones is corruption, which is refused rather
   * than skipped: a skipped record could be a signature the node would then sign again.
   */
  static async open(path: string): Promise<{ log: AppendLog; records: unknown[] }> {
    const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw new NektarError(`cannot read slashing protection log ${path}: ${err.message}`, { cause: err });
    });
    const records: unknown[] = [];
    let goodBytes = 0;
    let badLine: number | null = null;
    const lines = text.split("\n");
    // The last element follows the final newline: empty, or an incomplete write.
    for (const [i, line] of lines.slice(0, -1).entries()) {
      const record = decodeLine(line);
      if (record === undefined) {
        badLine ??= i + 1;
        continue;
      }
      if (badLine !== null) {
        throw new NektarError(
          `slashing protection log ${path}: line ${badLine} is corrupt but later records are intact; ` +
            "restore the data directory from a backup or import an interchange file into a new one",
        );
      }
      records.push(record);
      goodBytes += Buffer.byteLength(line) + 1;
    }
    const handle = await open(path, "a", 0o600);
    if (text.length === 0) await syncDirectory(dirname(path));
    if (goodBytes < Buffer.byteLength(text)) {
      await handle.truncate(goodBytes);
      await handle.sync();
    }
    const log = new AppendLog(path, handle);
    log.linesSinceRewrite = records.length;
    return { log, records };
  }

  /** Appends records; resolves once they are on disk. */
  append(records: readonly object[]): Promise<void> {
    return this.enqueue(records.map(encodeLine).join(""));
  }

  /** Resolves once every record appended so far is on disk. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.flushing === null) return Promise.resolve();
    return this.enqueue("");
  }

  /**
   * Has the log rewritten from `snapshot()` (compaction) whenever `due(linesSinceRewrite)` holds
   * after a write. The rewrite runs inside the write loop, so no append can slip between the
   * snapshot and the switch to the new file; appends queued meanwhile follow in the new file
   * (records the snapshot already holds are then written twice, which replay merges).
   */
  compactWhen(due: (linesSinceRewrite: number) => boolean, snapshot: () => object[]): void {
    this.compaction = { due, snapshot };
  }

  /** Rewrites the log from the snapshot now; resolves once the new log is durable. */
  compact(): Promise<void> {
    this.compactNow = true;
    return this.enqueue("");
  }

  async close(): Promise<void> {
    await this.sync().catch(() => undefined);
    await this.handle.close();
  }

  private enqueue(data: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.pending.push(data);
    this.flushing ??= this.flush();
    return done;
  }

  /** Written beside the log, fsynced, renamed over it, directory fsynced: a crash leaves one of the two. */
  private async rewrite(records: readonly object[]): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      const file = await open(tmp, "wx", 0o600);
      try {
        await file.writeFile(records.map(encodeLine).join(""));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDirectory(dir);
    const old = this.handle;
    this.handle = await open(this.path, "a", 0o600);
    await old.close();
    this.linesSinceRewrite = records.length;
  }

  private async flush(): Promise<void> {
    // Let the appends issued in the same tick (a batch of validators) join the first write.
    await Promise.resolve();
    while (this.waiters.length > 0) {
      const data = this.pending.join("");
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        if (data.length > 0) {
          await this.handle.writeFile(data);
          await this.handle.datasync();
          this.linesSinceRewrite += countLines(data);
        }
        if (this.compaction && (this.compactNow || this.compaction.due(this.linesSinceRewrite))) {
          this.compactNow = false;
          await this.rewrite(this.compaction.snapshot());
        }
        for (const w of waiters) w.resolve();
      } catch (err) {
        // After a failed fsync the kernel may have dropped the dirty pages: what is on disk is
        // unknown, so the log refuses everything from now on and the node must restart (replay).
        this.failure = new NektarError(`slashing protection log ${this.path}: write failed: ${(err as Error).message}`, { cause: err });
        for (const w of [...waiters, ...this.waiters]) w.reject(this.failure);
        this.waiters = [];
        this.pending = [];
      }
    }
    this.flushing = null;
  }
}

function encodeLine(record: object): string {
  const json = JSON.stringify(record);
  return `${json}\t${crc32(json).toString(16).padStart(8, "0")}\n`;
}

function decodeLine(line: string): unknown {
  const tab = line.lastIndexOf("\t");
  if (tab < 0) return undefined;
  const json = line.slice(0, tab);
  if (crc32(json).toString(16).padStart(8, "0") !== line.slice(tab + 1)) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

function countLines(data: string): number {
  let n = 0;
  for (let i = data.indexOf("\n"); i >= 0; i = data.indexOf("\n", i + 1)) n++;
  return n;
}
