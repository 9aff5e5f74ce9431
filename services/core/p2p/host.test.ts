/**
 * ClusterHost over real libp2p (TCP, noise, yamux) on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from "@jest/globals";
import { ByteListType, ContainerType, UintNumberType } from "@chainsafe/ssz";
import { defineProtocol } from "./codec.js";
import { P2pError } from "./errors.js";
import type { Peer } from "./host.js";
import { generateIdentity } from "./identity.js";
import { type TestNode, freePorts, membersOf, startAll, stopAll, testCluster, testNode } from "./testing.js";

const Payload = new ContainerType({ seq: new UintNumberType(4), body: new ByteListType(4096) });
type Payload = { seq: number; body: Uint8Array };

const Echo = defineProtocol({ name: "test/echo", version: "1.0.0", request: Payload, response: Payload });
const Note = defineProtocol({ name: "test/note", version: "1.0.0", request: Payload });

const payload = (seq: number, bytes = 8): Payload => ({ seq, body: new Uint8Array(bytes).fill(seq & 0xff) });

/** Resolves with the first `count` calls of a handler, as [message, from] pairs. */
function collect<T>(count: number): { handler: (m: T, from: Peer) => void; done: Promise<[T, Peer][]> } {
  const got: [T, Peer][] = [];
  let resolve: (v: [T, Peer][]) => void;
  const done = new Promise<[T, Peer][]>((r) => (resolve = r));
  return {
    handler: (m, from) => {
      got.push([m, from]);
      if (got.length === count) resolve(got);
    },
    done,
  };
}

async function metric(node: TestNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await node.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

describe("ClusterHost", () => {
  let nodes: TestNode[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it("connects 4 operators in a full mesh, and answers requests between every pair", async () => {
    nodes = await testCluster(4);
    for (const n of nodes) n.host.handle(Echo, (m, from) => ({ seq: m.seq + from.index, body: m.body }));
    await startAll(nodes);

    for (const n of nodes) {
      expect(n.host.peers.map((p) => p.name).sort()).toEqual(nodes.filter((o) => o !== n).map((o) => o.host.self.name).sort());
      expect(await metric(n, "nektar_p2p_peers_connected")).toBe(3);
    }
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        const answer = await a.host.send(b.host.self.peerId, Echo, payload(100, 64));
        // The handler saw who asked: seq + the asker's index.
        expect(answer.seq).toBe(100 + a.host.self.index);
        expect(answer.body).toEqual(payload(100, 64).body);
      }
    }
    expect(await metric(nodes[0]!, "nektar_p2p_messages_total", { protocol: Echo.id, direction: "outbound" })).toBe(6); // 3 requests, 3 responses
    expect(await metric(nodes[0]!, "nektar_p2p_message_bytes_total", { protocol: Echo.id, direction: "inbound" })).toBe(6 * (4 + 4 + 64));
  });

  it("delivers one-way messages and broadcasts, in order, naming the sender", async () => {
    nodes = await testCluster(4);
    const inboxes = nodes.map(() => collect<Payload>(3 * 20));
    nodes.forEach((n, i) => n.host.handle(Note, inboxes[i]!.handler));
    await startAll(nodes);

    await Promise.all(
      nodes.map(async (n) => {
        for (let seq = 0; seq < 20; seq++) {
          const result = await n.host.broadcast(Note, payload(seq));
          expect(result.failed).toEqual([]);
          expect(result.sent).toHaveLength(3);
        }
      }),
    );
    for (const [i, inbox] of inboxes.entries()) {
      const got = await inbox.done;
      const bySender = new Map<string, number[]>();
      for (const [m, from] of got) bySender.set(from.name, [...(bySender.get(from.name) ?? []), m.seq]);
      expect([...bySender.keys()].sort()).toEqual(nodes.filter((_, j) => j !== i).map((n) => n.host.self.name).sort());
      for (const seqs of bySender.values()) expect(seqs).toEqual(Array.from({ length: 20 }, (_, s) => s));
    }

    const note = collect<Payload>(1);
    const [a, b] = [nodes[0]!, nodes[1]!];
    await stopAll(nodes.slice(2));
    // A second handler on a live host: registered with libp2p at once.
    const Direct = defineProtocol({ name: "test/direct", version: "1.0.0", request: Payload });
    b.host.handle(Direct, note.handler);
    await a.host.send(b.host.self.peerId, Direct, payload(7));
    const [[m, from]] = (await note.done) as [[Payload, Peer]];
    expect([m.seq, from.name]).toEqual([7, a.host.self.name]);
  });

  it("reports a handler's failure, a timeout, and a peer that is not an operator, as typed errors", async () => {
    nodes = await testCluster(2);
    const Fails = defineProtocol({ name: "test/fails", version: "1.0.0", request: Payload, response: Payload });
    const Hangs = defineProtocol({ name: "test/hangs", version: "1.0.0", request: Payload, response: Payload });
    let release: () => void = () => undefined;
    for (const n of nodes) {
      n.host.handle(Fails, () => {
        throw new Error("no such duty");
      });
      n.host.handle(Hangs, () => new Promise<Payload>((resolve) => (release = () => resolve(payload(0)))));
    }
    await startAll(nodes);
    const [a, b] = [nodes[0]!, nodes[1]!];
    const peer = b.host.self.peerId;

    await expect(a.host.send(peer, Fails, payload(1))).rejects.toMatchObject({ reason: "remote", message: `${Fails.id}: op-1 answered: no such duty` });
    expect(await metric(b, "nektar_p2p_handler_errors_total", { protocol: Fails.id })).toBe(1);
    await expect(a.host.send(peer, Hangs, payload(1), { timeoutMs: 200 })).rejects.toMatchObject({ reason: "timeout" });
    release();
    await expect(a.host.send(generateIdentity().peerId.toString(), Echo, payload(1))).rejects.toMatchObject({ reason: "not_operator" });
    await expect(a.host.send(a.host.self.peerId, Echo, payload(1))).rejects.toMatchObject({ reason: "not_operator" });
    // A protocol the peer does not serve fails to open, and says so.
    await expect(a.host.send(peer, Echo, payload(1))).rejects.toMatchObject({ reason: "closed" });
  });

  it("dials operators by DNS name (/dns4/localhost/...)", async () => {
    nodes = await testCluster(3, { addressing: "dns4" });
    for (const n of nodes) n.host.handle(Echo, (m) => m);
    await startAll(nodes);
    expect(nodes[0]!.host.peers).toHaveLength(2);
    expect((await nodes[2]!.host.send(nodes[0]!.host.self.peerId, Echo, payload(9))).seq).toBe(9);
  });

  it("refuses a peer that is not in the definition, in both directions", async () => {
    nodes = await testCluster(2);
    let served = 0;
    for (const n of nodes) n.host.handle(Echo, (m) => (served++, m));
    await startAll(nodes);
    const target = nodes[0]!;
    const admitted: string[] = [];
    target.host.on("peer:connect", (p) => admitted.push(p.peerId));

    // The stranger's own definition lists the target, so it dials it and knows its protocols.
    const strangerId = generateIdentity();
    const [strangerPort] = await freePorts(1);
    const forged = membersOf([target.identity, strangerId], [target.port, strangerPort!]);
    const stranger = testNode(strangerId, forged, strangerPort!);
    nodes.push(stranger);
    stranger.host.handle(Echo, (m) => m);
    await stranger.host.start();

    await expect(stranger.host.send(target.host.self.peerId, Echo, payload(1), { timeoutMs: 2_000 })).rejects.toBeInstanceOf(P2pError);
    expect(await metric(target, "nektar_p2p_rejected_total", { reason: "gater" })).toBeGreaterThanOrEqual(1);
    expect(served).toBe(0);
    expect(admitted).toEqual([]);
    expect(target.host.peers.map((p) => p.peerId)).toEqual([nodes[1]!.host.self.peerId]);
    // The target never dials it either: the stranger is not in the target's definition.
    await expect(target.host.send(strangerId.peerId.toString(), Echo, payload(1))).rejects.toMatchObject({ reason: "not_operator" });
  });

  it("admits an operator added at runtime: refused before addMember, served and dialed after", async () => {
    nodes = await testCluster(2);
    const served: Peer[] = [];
    for (const n of nodes) n.host.handle(Echo, (m, from) => (served.push(from), m));
    await startAll(nodes);
    const target = nodes[0]!;

    const joinerId = generateIdentity();
    const [joinerPort] = await freePorts(1);
    const joinerMember = membersOf([joinerId], [joinerPort!])[0]!;
    const joiner = testNode(joinerId, [...membersOf([target.identity], [target.port]), joinerMember], joinerPort!);
    nodes.push(joiner);
    joiner.host.handle(Echo, (m) => m);
    await joiner.host.start();
    await expect(joiner.host.send(target.host.self.peerId, Echo, payload(1), { timeoutMs: 2_000 })).rejects.toBeInstanceOf(P2pError);
    expect(served).toEqual([]);

    const added = await target.host.addMember({ ...joinerMember, name: "joiner" });
    expect(added).toEqual({ index: 2, name: "joiner", peerId: joinerId.peerId.toString() });
    expect(await target.host.addMember(joinerMember)).toBe(added);
    await target.host.waitForPeers({ peerIds: [added.peerId], timeoutMs: 20_000 });
    expect((await joiner.host.send(target.host.self.peerId, Echo, payload(2))).seq).toBe(2);
    expect(served).toEqual([added]);
    expect((await target.host.send(added.peerId, Echo, payload(3))).seq).toBe(3);
    expect(target.host.operators.map((p) => p.name)).toEqual(["op-0", "op-1", "joiner"]);
  });

  it("rejects and counts a message over the protocol's size bound", async () => {
    nodes = await testCluster(2);
    // The same protocol id, but the sender allows more than the receiver: a mismatched peer.
    const Small = defineProtocol({ name: "test/bounded", version: "1.0.0", request: Payload, response: Payload, maxRequestBytes: 100 });
    const Large = defineProtocol({ name: "test/bounded", version: "1.0.0", request: Payload, response: Payload, maxRequestBytes: 4000 });
    const [a, b] = [nodes[0]!, nodes[1]!];
    a.host.handle(Small, (m) => m);
    b.host.handle(Small, (m) => m);
    await startAll(nodes);

    expect((await a.host.send(b.host.self.peerId, Large, payload(1, 90))).seq).toBe(1);
    await expect(a.host.send(b.host.self.peerId, Large, payload(2, 1000))).rejects.toMatchObject({ reason: "closed" });
    expect(await metric(b, "nektar_p2p_rejected_total", { reason: "oversize", protocol: Small.id })).toBe(1);
    // The sender's own bound refuses before anything is written.
    await expect(a.host.send(b.host.self.peerId, Small, payload(3, 1000))).rejects.toMatchObject({ reason: "oversize" });
    // The connection survives; a fresh stream carries the next message.
    expect((await a.host.send(b.host.self.peerId, Small, payload(4, 10))).seq).toBe(4);
  });

  it("rate-limits each peer per protocol", async () => {
    nodes = await testCluster(3);
    // A token per 1000 s after the burst: none comes back during the test, however slow the machine.
    const Limited = defineProtocol({ name: "test/limited", version: "1.0.0", request: Payload, response: Payload, rateLimit: { perSecond: 0.001, burst: 3 } });
    for (const n of nodes) n.host.handle(Limited, (m) => m);
    await startAll(nodes);
    const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!];

    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => a.host.send(c.host.self.peerId, Limited, payload(i))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    const rejected = results.flatMap((r) => (r.status === "rejected" ? [r.reason as P2pError] : []));
    expect(rejected.map((e) => e.reason)).toEqual(["rate_limited", "rate_limited"]);
    expect(await metric(c, "nektar_p2p_rejected_total", { reason: "rate_limited" })).toBe(2);
    // Another peer has its own bucket.
    expect((await b.host.send(c.host.self.peerId, Limited, payload(9))).seq).toBe(9);
  });

  it("reconnects, with backoff, to an operator that restarts on the same address", async () => {
    nodes = await testCluster(3);
    for (const n of nodes) n.host.handle(Echo, (m) => m);
    await startAll(nodes);
    const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!];

    const lost = new Promise((resolve) => a.host.once("peer:disconnect", resolve));
    await c.host.stop();
    expect(((await lost) as Peer).name).toBe(c.host.self.name);
    expect(a.host.peers.map((p) => p.name)).toEqual([b.host.self.name]);
    await expect(a.host.send(c.host.self.peerId, Echo, payload(1), { timeoutMs: 500 })).rejects.toBeInstanceOf(P2pError);

    // Down for a while: several redials fail meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    const members = nodes.map((n) => ({ name: n.host.self.name, peerId: n.host.self.peerId, multiaddrs: [`/ip4/127.0.0.1/tcp/${n.port}`] }));
    const restarted = testNode(c.identity, members, c.port);
    nodes.push(restarted);
    restarted.host.handle(Echo, (m) => m);
    await restarted.host.start();

    await a.host.waitForPeers({ timeoutMs: 15_000 });
    await b.host.waitForPeers({ timeoutMs: 15_000 });
    expect((await a.host.send(c.host.self.peerId, Echo, payload(5))).seq).toBe(5);
  });

  it("reports each peer's round-trip time", async () => {
    nodes = await testCluster(2, { pingIntervalMs: 100 });
    await startAll(nodes);
    const rtts = async () =>
      ((await nodes[0]!.registry.getMetricsAsJSON()).find((m) => m.name === "nektar_p2p_rtt_seconds")!.values ?? []) as {
        value: number;
        labels: Record<string, string>;
      }[];
    // The first ping goes out 100 ms after connecting; wait for it (bounded by the test timeout).
    while ((await rtts()).length === 0) await new Promise((r) => setTimeout(r, 50));
    const values = await rtts();
    expect(values.map((v) => v.labels.peer)).toEqual(["op-1"]);
    expect(values[0]!.value).toBeGreaterThanOrEqual(0);
    expect(values[0]!.value).toBeLessThan(1);
  });
});

describe("ClusterHost, 16 operators", () => {
  let nodes: TestNode[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it("connect and broadcast to all", async () => {
    nodes = await testCluster(16);
    const inboxes = nodes.map(() => collect<Payload>(15));
    nodes.forEach((n, i) => n.host.handle(Note, inboxes[i]!.handler));
    await startAll(nodes, 60_000);
    for (const n of nodes) expect(n.host.peers).toHaveLength(15);

    const results = await Promise.all(nodes.map((n) => n.host.broadcast(Note, payload(n.host.self.index, 96))));
    for (const r of results) expect(r.sent).toHaveLength(15);
    for (const [i, inbox] of inboxes.entries()) {
      const senders = (await inbox.done).map(([m, from]) => {
        expect(m.seq).toBe(from.index);
        return from.index;
      });
      expect(senders.sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, j) => j).filter((j) => j !== i));
    }
  }, 90_000);
});
