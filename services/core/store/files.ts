/**
 * Durable file output: a crash leaves either the old state or the new one, never a torn file or
 * a half-written output folder that looks complete.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, rename, rm, rmdir, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { NektarError } from "../errors.js";

export interface WriteOptions {
  /** File mode of a new file; 0600 for anything secret. */
  mode?: number;
  /** Names the file in errors, e.g. "keystore file /x/k.json"; defaults to the path. */
  what?: string;
  /** false: fail if `path` exists, checked atomically by link(2), not by a racy stat. Default true. */
  overwrite?: boolean;
}

/** Writes `data` to `path` via a temporary file, fsync and rename, then fsyncs the directory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const file = await open(tmp, "wx", options.mode ?? 0o644);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    if (options.overwrite === false) {
      await link(tmp, path);
      await unlink(tmp);
    } else {
      await rename(tmp, path);
    }
    await syncDirectory(dir);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new NektarError(`${options.what ?? path} already exists; refusing to overwrite it`, { cause: err });
    }
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new NektarError(`cannot write ${options.what ?? path}: ${reason}`, { cause: err });
  }
}

/**
 * Creates the folder `dir` with everything `fill` writes into it, all at once: `fill` writes into
 * a hidden sibling folder, which is renamed to `dir` only when it is complete. Refuses an existing
 * non-empty `dir`, so output is never mixed with an earlier run's.
 */
export async function publishDirectory(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw new NektarError(`output folder ${dir}: ${err.message}`);
  });
  if (existing !== undefined && existing.length > 0) {
    throw new NektarError(`output folder ${dir} is not empty: choose a new folder, nothing was written`);
  }
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.${randomBytes(6).toString("hex")}.partial`);
  await mkdir(tmp, { mode: 0o700 });
  try {
    await fill(tmp);
    await syncDirectory(tmp);
    if (existing !== undefined) await rmdir(dir);
    await rename(tmp, dir);
    await syncDirectory(parent);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** fsyncs a directory, so an entry created or renamed in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
