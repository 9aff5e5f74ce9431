/**
 * Atomic file writes for what the p2p layer persists (identity keys, cluster definitions): a
 * crash leaves the old file or the new one, never a torn one, and a key is never readable by
 * anyone but its owner, not even for the instant between create and chmod.
 */
import { randomBytes } from "node:crypto";
import { link, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { NektarError } from "../errors.js";

export interface WriteOptions {
  /** File mode, applied at creation. */
  mode: number;
  /** false: fail if `path` exists (checked atomically, by link(2), not by a racy stat). */
  overwrite: boolean;
  /** Names the file in errors, e.g. "identity key file". */
  what: string;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const file = await open(tmp, "wx", opts.mode);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    if (opts.overwrite) {
      await rename(tmp, path);
    } else {
      await link(tmp, path);
      await unlink(tmp);
    }
    // The new name is durable only once the directory entry is on disk too.
    const dirHandle = await open(dir, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new NektarError(`${opts.what} ${path} already exists; refusing to overwrite it`, { cause: err });
    throw new NektarError(`cannot write ${opts.what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}
