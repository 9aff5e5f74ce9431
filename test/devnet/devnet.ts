/**
 * `nektar devnet` as a real process for tests: spawned over the TypeScript sources (no build
 * needed), its output collected, its child processes listed, stopped with a signal.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export interface DevnetProcess {
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the devnet exits or `timeoutMs` passes. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Its exit code (or signal), once it exits. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** SIGKILLs it and its children if still running, removes the data dir. */
  cleanup(): Promise<void>;
}

export function startDevnet(args: readonly string[]): DevnetProcess {
  const base = mkdtempSync(join(tmpdir(), "nektar-devnet-test-"));
  const dataDir = join(base, "data");
  const child = spawn(process.execPath, ["--import", "./test/devnet/register.mjs", "test/devnet/nektar.ts", "devnet", "--data-dir", dataDir, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // Not jest's: the devnet's components log to their files at their usual level.
    env: { ...process.env, NODE_OPTIONS: "", JEST_WORKER_ID: undefined, NEKTAR_LOG_LEVEL: "info" },
  });
  let text = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal!)));
  exited.then(() => {
    for (const listener of listeners) listener();
  });

  return {
    child,
    dataDir,
    output: () => text,
    exited,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(text);
          if (match) done(() => resolve(match));
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(() => reject(new Error(`devnet exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${text}`)));
          }
        };
        const timer = setTimeout(() => done(() => reject(new Error(`devnet did not print ${pattern} within ${timeoutMs / 1000} s:\n${text}`))), timeoutMs);
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    cleanup: async () => {
      for (const pid of childPids(child.pid!)) kill(pid);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** The pids of `pid`'s child processes (Linux: from ps). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((line) => Number(line.trim()))
      .filter((p) => p > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Every 127.0.0.1 port named in `text` (URLs and multiaddrs). */
export function portsIn(text: string): number[] {
  const ports = new Set<number>();
  for (const m of text.matchAll(/127\.0\.0\.1(?::|\/tcp\/)(\d+)/g)) ports.add(Number(m[1]));
  return [...ports];
}
