/**
 * A small durable state file: one JSON document, checked against its TypeBox schema when read,
 * rewritten whole (temporary file, fsync, rename, fsync of the folder: core/store) when saved.
 * The AVS worker's record of what it signed and the aggregator's held responses are each one
 * such file; both stay small, since they keep only tasks whose response window is open.
 *
 * Saves are serialized: a save asked for while another is being written is folded into the
 * next write, which takes the state as it is when it starts. So a caller that changed the state
 * and then awaits save() knows its change is on disk, and a burst of changes costs two writes.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

import { NektarError } from "../core/errors.js";
import { writeFileAtomic } from "../core/store/files.js";

/** The document in `path` checked against `schema`; undefined if there is no file yet. */
export async function readStateFile<S extends TSchema>(path: string, schema: S, what: string): Promise<Static<S> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new NektarError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NektarError(`${what} ${path}: not JSON (${(err as Error).message}); restore it from a backup or move it away to start afresh`, { cause: err });
  }
  const error = Value.Errors(schema, json).First();
  if (error) throw new NektarError(`${what} ${path}: ${error.path || "/"}: ${error.message}`);
  return json as Static<S>;
}

export class StateFile {
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  /** `snapshot` gives the document to write, read when each write starts. */
  constructor(
    readonly path: string,
    private readonly what: string,
    private readonly snapshot: () => unknown,
  ) {}

  /** Creates the folder the file lives in (owner only: it holds signatures). */
  async prepare(): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new NektarError(`cannot create the folder of ${this.what} ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Resolves once the state as of this call is on disk. */
  save(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const queued = this.writing.then(() => {
      this.queued = undefined;
      return writeFileAtomic(this.path, `${JSON.stringify(this.snapshot())}\n`, { mode: 0o600, what: `${this.what} ${this.path}` });
    });
    this.queued = queued;
    this.writing = queued.catch(() => undefined);
    return queued;
  }
}
