/**
 * The devnet's progress: one line per step, `[3/7] what it does ... 2.1 s: what came of it`,
 * the start written when the step starts (a slow step shows what it is waiting for) and the
 * end when it is done. On a terminal a step may also show how far it is (`... verify 2/4`),
 * rewritten in place; in a log or pipe only the start and the end are written.
 */
import { NektarError } from "../../core/errors.js";

export type Print = (text: string) => void;

/** Tells how far a step is, e.g. "connect: 12/15 operators ready". */
export type StepProgress = (note: string) => void;

const CLEAR_TO_END = "\x1b[K";

export class Steps {
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly print: Print,
    /** The terminal's width if `print` goes to one (a line can then be rewritten), else undefined. */
    private readonly columns: number | undefined,
  ) {}

  /** Runs one step; `fn` returns its result and a short summary of it for the progress line. */
  async run<T>(title: string, fn: (progress: StepProgress) => Promise<{ result: T; summary: string }>): Promise<T> {
    const width = String(this.total).length;
    const head = `[${String(++this.done).padStart(width)}/${this.total}] ${title} ... `;
    this.print(head);
    // On a terminal the line is rewritten whole, so the end replaces the last note; a note is
    // cut to the width, since a wrapped line cannot be rewritten by a carriage return.
    const restart = `\r${head}`;
    let noted = false;
    const progress: StepProgress = (note) => {
      if (this.columns === undefined) return;
      this.print(`${restart}${note}`.slice(0, this.columns) + CLEAR_TO_END);
      noted = true;
    };
    const end = (text: string): void => this.print(`${noted ? restart : ""}${text}${noted ? CLEAR_TO_END : ""}\n`);
    const started = performance.now();
    try {
      const { result, summary } = await fn(progress);
      end(`${seconds(performance.now() - started)}${summary ? `: ${summary}` : ""}`);
      return result;
    } catch (err) {
      end(`failed after ${seconds(performance.now() - started)}`);
      if (err instanceof NektarError) throw new NektarError(`devnet: ${title}: ${err.message}`, { cause: err });
      throw err;
    }
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
