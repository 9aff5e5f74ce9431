/**
 * Logging: pino JSON lines on stderr (stdout is for a command's output), one child logger per
 * component, named by `component`. The level comes from NEKTAR_LOG_LEVEL (default "info";
 * "silent" under jest, so test output stays readable unless a test run asks for logs).
 */
import { pino, type Logger, type LevelWithSilent } from "pino";
import { NektarError } from "../errors.js";

export type { Logger };

export interface LoggerOptions {
  /** Overrides NEKTAR_LOG_LEVEL. */
  level?: LevelWithSilent;
  /** Fields added to every line, e.g. { peer: "op-1" }. */
  bindings?: Record<string, unknown>;
}

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

let root: Logger | undefined;

/** A logger for one component, e.g. createLogger("p2p"). */
export function createLogger(component: string, opts: LoggerOptions = {}): Logger {
  root ??= pino({ level: "trace", base: undefined }, pino.destination({ dest: 2, sync: true }));
  return root.child({ component, ...opts.bindings }, { level: opts.level ?? defaultLevel() });
}

function defaultLevel(): LevelWithSilent {
  const fromEnv = process.env.NEKTAR_LOG_LEVEL;
  if (fromEnv === undefined || fromEnv === "") return process.env.JEST_WORKER_ID !== undefined ? "silent" : "info";
  if (!(LEVELS as readonly string[]).includes(fromEnv)) {
    throw new NektarError(`NEKTAR_LOG_LEVEL: "${fromEnv}" is not a level; use one of ${LEVELS.join(", ")}`);
  }
  return fromEnv as LevelWithSilent;
}
