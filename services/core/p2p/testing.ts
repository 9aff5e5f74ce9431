/**
 * Real clusters on loopback for tests (and benchmarks): n identities, n free ports on
 * 127.0.0.1, n ClusterHosts with their own metric registries. Not used by production code.
 */
import { createServer } from "node:net";
import { Registry } from "prom-client";
import { type ClusterHostOptions, type ClusterMember, ClusterHost } from "./host.js";
import { type Identity, generateIdentity } from "./identity.js";

export interface TestNode {
  host: ClusterHost;
  identity: Identity;
  registry: Registry;
  port: number;
}

export interface TestClusterOptions extends Partial<Omit<ClusterHostOptions, "identity" | "operators" | "listen" | "registry">> {
  /** How operators are addressed in the definition. Default "ip4". */
  addressing?: "ip4" | "dns4";
}

/**
 * Where freePorts looks: below Linux's ephemeral range (32768-60999), so no outgoing connection
 * can take a port between its check here and its use; a slice per jest worker, so test files
 * running in parallel never pick the same one.
 */
const PORT_SLICE = 1_500;
const PORT_BASE = 20_000 + ((Number(process.env.JEST_WORKER_ID ?? 1) - 1) % 8) * PORT_SLICE;
let nextPort = 0;

/** Distinct free TCP ports on 127.0.0.1 (each checked by binding it, then released for its user). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let tried = 0; ports.length < n; tried++) {
    if (tried === PORT_SLICE) throw new Error(`freePorts: fewer than ${n} free ports in ${PORT_BASE}-${PORT_BASE + PORT_SLICE - 1}`);
    const port = PORT_BASE + (nextPort++ % PORT_SLICE);
    if (await canListen(port)) ports.push(port);
  }
  return ports;
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The members of a cluster of `identities` listening on `ports`, named op-0, op-1, ... */
export function membersOf(identities: readonly Identity[], ports: readonly number[], addressing: "ip4" | "dns4" = "ip4"): ClusterMember[] {
  const host = addressing === "ip4" ? "/ip4/127.0.0.1" : "/dns4/localhost";
  return identities.map((identity, i) => ({ name: `op-${i}`, peerId: identity.peerId.toString(), multiaddrs: [`${host}/tcp/${ports[i]}`] }));
}

/** A host for member `index` of `members`, not started. */
export function testNode(identity: Identity, members: readonly ClusterMember[], port: number, opts: TestClusterOptions = {}): TestNode {
  const registry = new Registry();
  const host = new ClusterHost({
    redial: { initialMs: 50, maxMs: 1_000 },
    // Every host of a test shares one event loop: a cluster starting at once queues all its
    // handshakes there, and they finish late together. Let them finish rather than retry.
    dialTimeoutMs: 30_000,
    ...opts,
    identity,
    operators: members,
    listen: [`/ip4/127.0.0.1/tcp/${port}`],
    registry,
  });
  return { host, identity, registry, port };
}

/**
 * n hosts, not started: register handlers, then `startAll`. Stop them with `stopAll` in an
 * afterEach/afterAll, so no socket outlives the test.
 */
export async function testCluster(n: number, opts: TestClusterOptions = {}): Promise<TestNode[]> {
  const identities = Array.from({ length: n }, generateIdentity);
  const ports = await freePorts(n);
  const members = membersOf(identities, ports, opts.addressing);
  return identities.map((identity, i) => testNode(identity, members, ports[i]!, opts));
}

/** Starts every node and waits until each is connected to every other. */
export async function startAll(nodes: readonly TestNode[], timeoutMs = 20_000): Promise<void> {
  await Promise.all(nodes.map((n) => n.host.start()));
  await Promise.all(nodes.map((n) => n.host.waitForPeers({ timeoutMs })));
}

export async function stopAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.host.stop()));
}
