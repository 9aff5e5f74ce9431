/**
 * The live summary: a line every few seconds of what the devnet has done, each part from one
 * component (the chain's block, the AVS's tasks, the validators' duties). On a terminal the line
 * is rewritten in place; in a log or pipe each refresh is a new line, so a script can follow it.
 *
 * It is also the devnet's watch on what it depends on: a vital part (the chain) failing
 * VITAL_FAILURES refreshes in a row means that component is gone, and `onLost` is called once.
 */
import type { Print } from "./steps.js";

/** One part of the summary line, e.g. "tasks 12 created, 11 certified". */
export type SummaryPart = () => Promise<string>;

const VITAL_FAILURES = 3;

interface Part {
  read: SummaryPart;
  vital: boolean;
  failures: number;
}

export class LiveSummary {
  private readonly parts: Part[] = [];
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly started = performance.now();
  private lastLength = 0;
  private lost = false;

  constructor(
    private readonly print: Print,
    /** The terminal's width if `print` goes to one (the line is then rewritten in place), else undefined. */
    private readonly columns: number | undefined,
    private readonly onLost: (reason: string) => void,
  ) {}

  /** A part of the line; `vital`: its failing for good stops the devnet. */
  add(read: SummaryPart, vital = false): void {
    this.parts.push({ read, vital, failures: 0 });
  }

  start(intervalMs: number): void {
    const tick = (): void => {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = undefined;
        if (this.timer !== undefined) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.refreshing;
    if (this.columns !== undefined && this.lastLength > 0) this.print("\n");
  }

  private async refresh(): Promise<void> {
    // A part that fails says so in its place rather than hiding the others.
    const texts = await Promise.all(this.parts.map((part) => this.read(part)));
    if (this.timer === undefined) return; // stopped meanwhile: the devnet is printing its shutdown
    const line = `[${clock(performance.now() - this.started)}] ${texts.join(" | ")}`;
    if (this.columns !== undefined) {
      // Cut to the width: a wrapped line cannot be rewritten by a carriage return.
      const shown = line.slice(0, this.columns - 1);
      this.print(`\r${shown.padEnd(this.lastLength)}`);
      this.lastLength = shown.length;
    } else {
      this.print(line + "\n");
    }
  }

  private async read(part: Part): Promise<string> {
    try {
      const text = await part.read();
      part.failures = 0;
      return text;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (part.vital && ++part.failures >= VITAL_FAILURES && !this.lost) {
        this.lost = true;
        this.onLost(message);
      }
      return `(${message})`;
    }
  }
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}
