/**
 * The live summary: a line every few seconds of what the devnet has done, each part from one
 * component (the chain's block, the AVS's tasks, the validators' duties). On a terminal the line
 * is rewritten in place; in a log or pipe each refresh is a new line, so a script can follow it.
 */
import type { Print } from "./steps.js";

/** One part of the summary line, e.g. "tasks 12 created, 11 certified". */
export type SummaryPart = () => Promise<string>;

export class LiveSummary {
  private readonly parts: SummaryPart[] = [];
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly started = performance.now();
  private lastLength = 0;

  constructor(
    private readonly print: Print,
    private readonly inPlace: boolean,
  ) {}

  add(part: SummaryPart): void {
    this.parts.push(part);
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
    if (this.inPlace && this.lastLength > 0) this.print("\n");
  }

  private async refresh(): Promise<void> {
    // A part that fails (its component stopping, say) says so rather than hiding the others.
    const parts = await Promise.all(this.parts.map((part) => part().catch((err: unknown) => `(${err instanceof Error ? err.message : String(err)})`)));
    const line = `[${clock(performance.now() - this.started)}] ${parts.join(" | ")}`;
    if (this.inPlace) {
      this.print(`\r${line.padEnd(this.lastLength)}`);
      this.lastLength = line.length;
    } else {
      this.print(line + "\n");
    }
  }
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}
