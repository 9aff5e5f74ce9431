/**
 * Where a duty's data meets its recovered signature. The data comes from consensus (a proposal
 * this node checked) or from the node itself (deterministic duties, remote requests); the
 * signature from sigagg, possibly first (peers' partials can outrun the proposal). When both are
 * there for one signing root the duty is complete: the broadcaster submits it, and later duties
 * that need it (a block needs its RANDAO reveal) read it.
 */
import { toHex } from "../core/hex.js";
import { NektarError } from "../core/errors.js";
import { type DutyId, dutyKey } from "./duties.js";
import type { Recovered, Unsigned } from "./duty/kind.js";

interface Entry {
  readonly slot: number;
  readonly data: Map<string, Unsigned>;
  signature: { root: string; signature: Uint8Array } | undefined;
  complete: Recovered | undefined;
  readonly waiters: { resolve: (r: Recovered) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[];
}

export class Results {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly onComplete: (id: DutyId, recovered: Recovered) => void) {}

  addData(id: DutyId, unsigned: Unsigned): void {
    const entry = this.entry(id);
    entry.data.set(toHex(unsigned.signingRoot), unsigned);
    this.join(id, entry);
  }

  addSignature(id: DutyId, signingRoot: Uint8Array, signature: Uint8Array): void {
    const entry = this.entry(id);
    entry.signature ??= { root: toHex(signingRoot), signature };
    this.join(id, entry);
  }

  completed(id: DutyId): Recovered | undefined {
    return this.entries.get(dutyKey(id))?.complete;
  }

  /** The duty's result, waiting up to `timeoutMs` for it. */
  wait(id: DutyId, timeoutMs: number): Promise<Recovered> {
    const entry = this.entry(id);
    if (entry.complete !== undefined) return Promise.resolve(entry.complete);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = entry.waiters.findIndex((w) => w.timer === timer);
        if (i >= 0) entry.waiters.splice(i, 1);
        reject(new NektarError(`${dutyKey(id)}: no recovered signature within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      entry.waiters.push({ resolve, reject, timer });
    });
  }

  /** Forgets duties before `slot`; their waiters fail. */
  prune(slot: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.slot >= slot) continue;
      this.entries.delete(key);
      for (const w of entry.waiters) {
        clearTimeout(w.timer);
        w.reject(new NektarError(`${key}: expired`));
      }
    }
  }

  private entry(id: DutyId): Entry {
    const key = dutyKey(id);
    let entry = this.entries.get(key);
    if (entry === undefined) this.entries.set(key, (entry = { slot: id.slot, data: new Map(), signature: undefined, complete: undefined, waiters: [] }));
    return entry;
  }

  private join(id: DutyId, entry: Entry): void {
    if (entry.complete !== undefined || entry.signature === undefined) return;
    const unsigned = entry.data.get(entry.signature.root);
    if (unsigned === undefined) return;
    const recovered = { unsigned, signature: entry.signature.signature };
    entry.complete = recovered;
    for (const w of entry.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve(recovered);
    }
    this.onComplete(id, recovered);
  }
}
