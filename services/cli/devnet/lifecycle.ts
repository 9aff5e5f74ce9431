/**
 * What the devnet started, and how to stop it: every component is registered the moment it is
 * running, and stopAll() stops them newest first (the AVS before the nodes it talks to, the
 * nodes before the chain), each bounded in time, so one stuck component cannot keep the others
 * running. Errors are collected, not thrown half way: everything gets its stop call.
 */
export interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

/** How long one component may take to stop before the devnet moves on to the next. */
const STOP_TIMEOUT_MS = 10_000;

export class Lifecycle {
  private readonly running: Stoppable[] = [];
  private stopping: Promise<string[]> | undefined;

  /** Registers a running component; it is stopped by stopAll(), after anything registered later. */
  add(name: string, stop: () => Promise<void> | void): void {
    if (this.stopping !== undefined) {
      // Started while shutting down (a step finishing after Ctrl-C): stop it at once.
      void Promise.resolve(stop()).catch(() => undefined);
      return;
    }
    this.running.push({ name, stop: async () => stop() });
  }

  /** Stops everything once, newest first; resolves to a message per component that failed to stop. */
  stopAll(): Promise<string[]> {
    this.stopping ??= (async () => {
      const failures: string[] = [];
      for (const component of this.running.reverse()) {
        const failure = await stopWithin(component, STOP_TIMEOUT_MS);
        if (failure !== undefined) failures.push(failure);
      }
      return failures;
    })();
    return this.stopping;
  }
}

async function stopWithin(component: Stoppable, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${component.name}: did not stop within ${timeoutMs / 1000} s`), timeoutMs);
  });
  try {
    return await Promise.race([
      component.stop().then(
        () => undefined,
        (err: unknown) => `${component.name}: ${err instanceof Error ? err.message : String(err)}`,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
