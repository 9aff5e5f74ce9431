/**
 * Where the devnet's servers listen, all on 127.0.0.1: consecutive ports from --port-base, in
 * the order the components ask for them, or free ports the system picks. A port from the base
 * that is taken fails the devnet before anything starts on it, naming the port.
 */
import { createServer, type Server } from "node:net";
import { NektarError } from "../../core/errors.js";

export const HOST = "127.0.0.1";

export class Ports {
  private next: number | undefined;

  constructor(base?: number) {
    this.next = base;
  }

  /** `count` distinct ports, each free at the time of the call. */
  async take(count: number, what: string): Promise<number[]> {
    if (this.next === undefined) return freePorts(count);
    const ports = Array.from({ length: count }, (_, i) => this.next! + i);
    this.next += count;
    const last = ports[ports.length - 1];
    if (last !== undefined && last > 65_535) throw new NektarError(`--port-base: ${what} would need port ${last}, above 65535; choose a lower base`);
    const busy = await Promise.all(ports.map(async (port) => ((await isFree(port)) ? undefined : port)));
    const taken = busy.filter((p) => p !== undefined);
    if (taken.length > 0) {
      throw new NektarError(`--port-base: port${taken.length > 1 ? "s" : ""} ${taken.join(", ")} on ${HOST} (for ${what}) already in use; choose another base`);
    }
    return ports;
  }

  async one(what: string): Promise<number> {
    return (await this.take(1, what))[0]!;
  }
}

function listen(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => server.once("error", reject).listen(port, HOST, () => resolve(server)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function isFree(port: number): Promise<boolean> {
  try {
    await close(await listen(port));
    return true;
  } catch {
    return false;
  }
}

/** Distinct free ports: held open together, so they differ, then released for their users. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listen(0)));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map(close));
  return ports;
}
