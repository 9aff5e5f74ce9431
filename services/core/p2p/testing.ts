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

/** Distinct free TCP ports on 127.0.0.1 (held open together, so they differ, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const server = createServer();
      return new Promise<typeof server>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", () => resolve(server)));
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
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
