/**
 * Supervision of the servers a system test starts (kube-apiserver, etcd, a Lodestar node):
 * logs to files in one temp dir, killed by pid on stop(), and by a detached watchdog if this
 * process dies first, however it dies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePorts } from "../../services/core/p2p/testing.js";

export interface StartProcessOptions {
  /** The child's whole environment; default this process's. */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** The child processes of one test fixture, killed by pid, even if this process dies first. */
export class Processes {
  private readonly children: { name: string; child: ChildProcess; exited: Promise<void>; error?: Error }[] = [];
  private watchdog: ChildProcess | undefined;
  private stopped: Promise<void> | undefined;

  /** `dir` holds each child's `<name>.log` and is removed by stopAll(). */
  constructor(readonly dir: string) {}

  start(name: string, path: string, args: readonly string[], options: StartProcessOptions = {}): void {
    // Logs go to files, not pipes: nothing keeps this process's event loop alive.
    const log = openSync(join(this.dir, `${name}.log`), "a");
    const child = spawn(path, args, {
      stdio: ["ignore", log, log],
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
    closeSync(log);
    child.unref();
    const entry = {
      name,
      child,
      // A binary that cannot be executed emits "error" and, unlike one that dies, no "exit".
      exited: new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.once("error", (error) => {
          entry.error = error;
          resolve();
        });
      }),
      error: undefined as Error | undefined,
    };
    this.children.push(entry);
    this.guard();
  }

  /** The first child that has exited, with the end of its log, if any has. */
  exited(): string | undefined {
    const dead = this.children.find(
      ({ child, error }) => error !== undefined || child.exitCode !== null || child.signalCode !== null,
    );
    if (dead === undefined) return undefined;
    if (dead.error !== undefined) return `${dead.name} could not be started: ${dead.error.message}`;
    const status = dead.child.exitCode ?? dead.child.signalCode;
    return `${dead.name} exited (${status}):\n${this.logTail(dead.name)}`;
  }

  logTail(name: string, lines = 30): string {
    const path = join(this.dir, `${name}.log`);
    return existsSync(path) ? readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "";
  }

  stopAll(): Promise<void> {
    this.stopped ??= (async () => {
      // SIGKILL: the state is thrown away with the directory, there is nothing to shut down cleanly.
      for (const { child } of this.children) {
        child.ref(); // keep this process alive until the exit is seen
        child.kill("SIGKILL");
      }
      await Promise.all(this.children.map(({ exited }) => exited));
      this.watchdog?.kill("SIGKILL");
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopped;
  }

  /**
   * A shell that outlives this process however it ends (a signal, a crash, SIGKILL: cases where
   * no exit handler runs) and then kills the children and removes the directory, within a
   * second. Restarted with each child's pid added.
   */
  private guard(): void {
    this.watchdog?.kill("SIGKILL");
    const pids = this.children.map(({ child }) => String(child.pid));
    const script = 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -9 "$@" 2>/dev/null; rm -rf "$DIR"';
    this.watchdog = spawn("sh", ["-c", script, String(process.pid), ...pids], {
      stdio: "ignore",
      detached: true,
      env: { ...process.env, DIR: this.dir },
    });
    this.watchdog.unref();
  }
}

/** A free port on 127.0.0.1 (for servers that cannot pick their own and report it): see freePorts. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}
