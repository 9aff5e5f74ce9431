/**
 * The devnet's progress: one line per step, `[3/7] what it does ... 2.1 s: what came of it`,
 * the start written when the step starts (a slow step shows what it is waiting for) and the
 * end when it is done.
 */
import { NektarError } from "../../core/errors.js";

export type Print = (text: string) => void;

export class Steps {
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly print: Print,
  ) {}

  /** Runs one step; `fn` returns its result and a short summary of it for the progress line. */
  async run<T>(title: string, fn: () => Promise<{ result: T; summary: string }>): Promise<T> {
    const width = String(this.total).length;
    this.print(`[${String(++this.done).padStart(width)}/${this.total}] ${title} ... `);
    const started = performance.now();
    try {
      const { result, summary } = await fn();
      this.print(`${seconds(performance.now() - started)}${summary ? `: ${summary}` : ""}\n`);
      return result;
    } catch (err) {
      this.print(`failed after ${seconds(performance.now() - started)}\n`);
      if (err instanceof NektarError) throw new NektarError(`devnet: ${title}: ${err.message}`, { cause: err });
      throw err;
    }
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
