/**
 * Notices when a mounted Secret changes. The kubelet updates a Secret volume atomically: it
 * writes the new files into a fresh `..<timestamp>` folder and swaps the `..data` symlink, the
 * visible files being symlinks through `..data`. So the folder's own entries change (an event on
 * the folder), never the files in place; and some volume types deliver no events at all. Both
 * are covered: events on the folder, and a poll, each leading to a comparison of the contents.
 */
import { type FSWatcher, watch } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";

export interface FolderWatcher {
  close(): void;
}

export interface WatchOptions {
  /** How often the contents are compared without an event. Default 10 s. */
  pollMs?: number;
  /** Events within this window are one change (the kubelet's swap is several). Default 300 ms. */
  debounceMs?: number;
}

/** The contents of the visible files of `dir` (not the kubelet's `..` entries), hashed; "" if there is no folder. */
export async function folderDigest(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const hash = createHash("sha256");
  for (const name of names.filter((n) => !n.startsWith("..")).sort()) {
    const content = await readFile(join(dir, name)).catch(() => undefined); // a folder, or gone mid-swap
    if (content !== undefined) hash.update(name).update("\0").update(content).update("\0");
  }
  return names.length === 0 ? "" : hash.digest("hex");
}

/**
 * Calls `onChange` (never two at once) whenever the contents of `dir` differ from the last ones
 * seen, starting from `initialDigest`.
 */
export function watchFolder(dir: string, initialDigest: string, onChange: () => Promise<void>, options: WatchOptions = {}): FolderWatcher {
  let last = initialDigest;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let debounce: NodeJS.Timeout | undefined;

  const check = async () => {
    const digest = await folderDigest(dir);
    if (digest === last || closed) return;
    last = digest;
    await onChange();
  };
  const schedule = () => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = check()
      .catch(() => undefined) // onChange reports its own failures; the next change tries again
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule();
        }
      });
  };
  const onEvent = () => {
    clearTimeout(debounce);
    debounce = setTimeout(schedule, options.debounceMs ?? 300);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, onEvent);
    watcher.on("error", () => undefined); // the folder went away: the poll carries on
  } catch {
    // No folder yet (an optional Secret not created): the poll notices when it appears.
  }
  const poll = setInterval(schedule, options.pollMs ?? 10_000);
  poll.unref();
  return {
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
