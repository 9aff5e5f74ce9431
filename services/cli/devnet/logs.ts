/**
 * The components' logs: pino JSON, one file per component in the data dir's logs/ folder, so the
 * terminal shows only the devnet's progress and summary.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { pino, type Logger } from "pino";

export class LogFiles {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  path(component: string): string {
    return join(this.dir, `${component}.log`);
  }

  /** A logger writing to logs/<file>.log (level from NEKTAR_LOG_LEVEL, default info); children name the component. */
  logger(file: string): Logger {
    // Synchronous writes: a line is on disk when the devnet stops or crashes, nothing to flush or
    // close (a component still logging as it stops cannot write to a closed file), and the
    // devnet's log volume is small.
    const destination = pino.destination({ dest: this.path(file), sync: true, append: true });
    return pino({ level: process.env.NEKTAR_LOG_LEVEL || "info", base: undefined }, destination);
  }

}
