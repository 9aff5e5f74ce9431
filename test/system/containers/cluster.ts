/**
 * Containers of the project image (NEKTAR_IMAGE, built by test/system/provision/docker.sh), run
 * the way production runs them: uid 65532, a read-only root filesystem, /tmp a tmpfs, state on a
 * volume mounted at /var/lib/nektar. Each volume is a host folder, so a test reads what a
 * container wrote, and a container restarted or replaced finds its state again.
 *
 *   const cluster = await ContainerCluster.start();
 *   const { exitCode, output } = await cluster.run("op-0", ["identity", "create", "--out", "/var/lib/nektar/identity.key"]);
 *   const node = await cluster.start("op-0", ["node", "--config", "/var/lib/nektar/node.json"]);
 *   await node.disconnect(); ... await node.reconnect();
 *   await cluster.stop();
 *
 * Containers share one Docker network and find each other by name (their network alias). The
 * test process reaches them at their address on that network (no port is published on the host),
 * and they reach a server of the test process at the network's gateway (see forward()).
 */
import { chownSync, createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type Dockerode from "dockerode";
import { GenericContainer, getContainerRuntimeClient, Network, type StartedNetwork, type StartedTestContainer } from "testcontainers";
import { NektarError } from "../../../services/core/errors.js";

/** The image's unprivileged user (docker/Dockerfile). */
export const NEKTAR_UID = 65532;
/** Where each container's volume is mounted. */
export const STATE_DIR = "/var/lib/nektar";

export interface ContainerOptions {
  /** Further host folders to mount, host path -> container path. */
  readonly mounts?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  /** Docker's network mode instead of the cluster's network, e.g. "host". */
  readonly networkMode?: string;
}

export interface RunResult {
  readonly exitCode: number;
  /** stdout and stderr, interleaved as written. */
  readonly output: string;
}

function image(): string {
  const name = process.env.NEKTAR_IMAGE;
  if (name === undefined) {
    throw new NektarError("NEKTAR_IMAGE is not set: build the image with `bash test/system/provision.sh docker` (or run `npm run test:system`)");
  }
  return name;
}

/** The image's containers, hardened as in production: what GenericContainer cannot say is set on its host config. */
class NektarContainer extends GenericContainer {
  constructor(name: string) {
    super(image());
    this.hostConfig.ReadonlyRootfs = true;
    this.hostConfig.CapDrop = ["ALL"];
    this.hostConfig.SecurityOpt = ["no-new-privileges"];
    this.withTmpFs({ "/tmp": "rw,size=64m" }).withName(name);
  }

  /**
   * On `network` only, found there as `alias`. (withNetworkAliases would create the container
   * on Docker's default bridge and connect it to `network` too: a second path between
   * containers, which a disconnect from `network` would not cut.)
   */
  onNetwork(network: StartedNetwork, alias: string): this {
    this.withNetworkMode(network.getName());
    this.createOpts.NetworkingConfig = { EndpointsConfig: { [network.getName()]: { Aliases: [alias] } } };
    return this;
  }
}

export class ContainerCluster {
  private readonly containers = new Map<string, NodeContainer>();
  /** run()'s containers until they are removed: a failed test may leave some running. */
  private readonly oneShots = new Set<StartedTestContainer>();

  private constructor(
    readonly network: StartedNetwork,
    /** Host folder holding each container's volume (<name>/) and log (<name>.log). */
    readonly dir: string,
    private readonly docker: Dockerode,
    /** Unique per cluster: container names are global to the engine. */
    private readonly prefix: string,
  ) {}

  static async start(): Promise<ContainerCluster> {
    const docker = (await getContainerRuntimeClient()).container.dockerode;
    const network = await new Network().start();
    const dir = mkdtempSync(join(tmpdir(), "nektar-containers-"));
    return new ContainerCluster(network, dir, docker, network.getName().slice(0, 12));
  }

  /** The host folder that is container `name`'s /var/lib/nektar, writable by the image's user. */
  volume(name: string): string {
    const path = join(this.dir, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    chownSync(path, NEKTAR_UID, NEKTAR_UID);
    return path;
  }

  /** Writes a file into container `name`'s volume, readable by it (e.g. a password, a config). */
  writeFile(name: string, file: string, content: string): string {
    const path = join(this.volume(name), file);
    writeFileSync(path, content, { mode: 0o600 });
    chownSync(path, NEKTAR_UID, NEKTAR_UID);
    return `${STATE_DIR}/${file}`;
  }

  /** Hands what the test process wrote into container `name`'s volume over to the image's user. */
  own(name: string): void {
    const root = this.volume(name);
    for (const entry of readdirSync(root, { recursive: true })) chownSync(join(root, String(entry)), NEKTAR_UID, NEKTAR_UID);
  }

  /** Runs `nektar <args>` in a fresh container named `name` to completion, and removes it. */
  async run(name: string, args: readonly string[], options: ContainerOptions = {}): Promise<RunResult> {
    const container = await this.create(`${name}-run`, name, args, options);
    this.oneShots.add(container);
    try {
      const { StatusCode } = (await this.docker.getContainer(container.getId()).wait()) as { StatusCode: number };
      const output = await readLogs(await this.docker.getContainer(container.getId()).logs({ stdout: true, stderr: true, follow: false }));
      return { exitCode: StatusCode, output };
    } finally {
      this.oneShots.delete(container);
      await container.stop({ timeout: 0 });
    }
  }

  /** Starts `nektar <args>` in a long-running container named `name` (its log: <dir>/<name>.log). */
  async start(name: string, args: readonly string[], options: ContainerOptions = {}): Promise<NodeContainer> {
    if (this.containers.has(name)) throw new NektarError(`container ${name} exists already in this cluster`);
    const started = await this.create(name, name, args, options, join(this.dir, `${name}.log`));
    const network = options.networkMode === undefined ? this.docker.getNetwork(this.network.getId()) : undefined;
    const node = new NodeContainer(name, started, this.docker.getContainer(started.getId()), this.network.getName(), network);
    this.containers.set(name, node);
    return node;
  }

  /** Removes container `name` (its volume stays, for a container that replaces it). */
  async remove(name: string): Promise<void> {
    await this.containers.get(name)?.remove();
    this.containers.delete(name);
  }

  /**
   * A TCP port on the network's gateway (the host, as the containers see it) forwarding to
   * `target` on this host's loopback: how containers reach a server of the test process, which
   * listens on 127.0.0.1 only. Closed by stop().
   */
  async forward(target: { host: string; port: number }): Promise<{ host: string; port: number }> {
    const info = (await this.docker.getNetwork(this.network.getId()).inspect()) as { IPAM: { Config: { Gateway?: string }[] } };
    const gateway = info.IPAM.Config.find((c) => c.Gateway !== undefined)?.Gateway;
    if (gateway === undefined) throw new NektarError(`network ${this.network.getName()} has no gateway address`);
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = createConnection(target);
      for (const socket of [inbound, outbound]) {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        socket.on("error", () => (socket === inbound ? outbound : inbound).destroy());
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, gateway, () => resolve());
    });
    this.forwarders.push({ server, sockets });
    return { host: gateway, port: (server.address() as AddressInfo).port };
  }

  private readonly forwarders: { server: Server; sockets: Set<Socket> }[] = [];

  /** Removes every container, the network and the host folder. */
  async stop(): Promise<void> {
    try {
      await this.removeAll();
    } finally {
      // NEKTAR_KEEP_CONTAINER_LOGS=1 keeps the volumes and logs, to look into a failed run.
      if (process.env.NEKTAR_KEEP_CONTAINER_LOGS === "1") process.stderr.write(`container volumes and logs kept in ${this.dir}\n`);
      else rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private async removeAll(): Promise<void> {
    // One at a time: the engine (20.10) has left a network with a phantom endpoint after many
    // concurrent removals of containers that had been disconnected and reconnected.
    for (const container of this.containers.values()) await container.remove();
    this.containers.clear();
    await Promise.all([...this.oneShots].map((c) => c.stop({ timeout: 0 })));
    this.oneShots.clear();
    for (const { server, sockets } of this.forwarders) {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // The engine releases a removed container's endpoint a moment after the removal returns.
    await eventually(() => this.network.stop(), 30_000);
  }

  private async create(
    containerName: string,
    volumeOf: string,
    args: readonly string[],
    options: ContainerOptions,
    logFile?: string,
  ): Promise<StartedTestContainer> {
    const container = new NektarContainer(`${this.prefix}-${containerName}`)
      .withCommand([...args])
      .withEnvironment({ ...options.env })
      .withBindMounts([
        { source: this.volume(volumeOf), target: STATE_DIR },
        ...Object.entries(options.mounts ?? {}).map(([source, target]) => ({ source, target })),
      ]);
    if (options.networkMode !== undefined) container.withNetworkMode(options.networkMode);
    else container.onNetwork(this.network, volumeOf);
    if (logFile !== undefined) {
      container.withLogConsumer((stream) => stream.pipe(createWriteStream(logFile, { flags: "a" })));
    }
    return container.start();
  }
}

/** A long-running container of the cluster, and the faults a test injects into it. */
export class NodeContainer {
  constructor(
    readonly name: string,
    private readonly started: StartedTestContainer,
    private readonly container: Dockerode.Container,
    private readonly networkName: string,
    /** The cluster network; undefined for a container on the host's network. */
    private readonly network: Dockerode.Network | undefined,
  ) {}

  /** Its address on the cluster network (it changes when it reconnects or restarts). */
  async address(): Promise<string> {
    const info = await this.container.inspect();
    if (!info.State.Running) {
      const log = (await this.logs()).trimEnd().split("\n").slice(-30).join("\n");
      throw new ContainerExited(`container ${this.name} is not running (exit code ${info.State.ExitCode}); the end of its log:\n${log}`);
    }
    if (this.network === undefined) return "127.0.0.1";
    const address = info.NetworkSettings.Networks[this.networkName]?.IPAddress;
    if (!address) throw new NektarError(`container ${this.name} has no address on ${this.networkName}: disconnected`);
    return address;
  }

  async url(port: number): Promise<string> {
    return `http://${await this.address()}:${port}`;
  }

  async running(): Promise<boolean> {
    return (await this.container.inspect()).State.Running;
  }

  /** When its process last started: a restart changes it. */
  async startedAt(): Promise<string> {
    return (await this.container.inspect()).State.StartedAt;
  }

  /** The exit code of its last run (meaningful once it is not running). */
  async exitCode(): Promise<number> {
    return (await this.container.inspect()).State.ExitCode;
  }

  /** SIGTERM, then SIGKILL after `timeoutSeconds`, as Kubernetes stops a pod. */
  async stop(timeoutSeconds = 10): Promise<void> {
    await this.container.stop({ t: timeoutSeconds });
  }

  /** SIGKILL: a crash, or the machine losing power. */
  async kill(): Promise<void> {
    await this.container.kill({ signal: "SIGKILL" });
  }

  /** Starts it again after stop() or kill(), with the same volume. */
  async start(): Promise<void> {
    await this.container.start();
  }

  async restart(): Promise<void> {
    await this.container.restart({ t: 10 });
  }

  /** Freezes every process (cgroup freezer): a machine that hangs, connections left open. */
  async pause(): Promise<void> {
    await this.container.pause();
  }

  async unpause(): Promise<void> {
    await this.container.unpause();
  }

  /** Cuts it off the cluster network: a network partition, the process keeps running. */
  async disconnect(): Promise<void> {
    await this.clusterNetwork().disconnect({ Container: this.container.id, Force: true });
  }

  /** Heals a disconnect(): back on the network under its name. */
  async reconnect(): Promise<void> {
    await this.clusterNetwork().connect({ Container: this.container.id, EndpointConfig: { Aliases: [this.name] } });
  }

  async logs(): Promise<string> {
    return readLogs(await this.container.logs({ stdout: true, stderr: true, follow: false }));
  }

  private clusterNetwork(): Dockerode.Network {
    if (this.network === undefined) throw new NektarError(`container ${this.name} is on the host's network, not the cluster's`);
    return this.network;
  }

  /** Removes the container (its volume, a host folder, stays until the cluster stops). */
  async remove(): Promise<void> {
    if (this.network !== undefined && (await this.container.inspect()).NetworkSettings.Networks[this.networkName] !== undefined) {
      await this.network.disconnect({ Container: this.container.id, Force: true });
    }
    await this.started.stop({ timeout: 0, removeVolumes: true });
  }
}

/** A container's logs without Docker's stream framing (8-byte headers of stdout/stderr chunks). */
async function readLogs(logs: Buffer | NodeJS.ReadableStream): Promise<string> {
  let buffer: Buffer;
  if (Buffer.isBuffer(logs)) buffer = logs;
  else {
    const chunks: Buffer[] = [];
    for await (const chunk of logs) chunks.push(Buffer.from(chunk as Buffer));
    buffer = Buffer.concat(chunks);
  }
  let text = "";
  for (let offset = 0; offset + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    offset += 8 + size;
  }
  return text;
}

/** A container a test expected to run has exited: no use waiting for it. */
export class ContainerExited extends NektarError {}

/** Polls `check` until it returns a value, or throws the last failure after `timeoutMs` (at once if a container exited). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (error instanceof ContainerExited || Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
