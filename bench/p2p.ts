/**
 * The cluster's p2p latency on loopback, against a raw TCP echo round trip measured in the same
 * run: a request/response between two ClusterHosts (one frame each way on a kept-open stream),
 * the same over a fresh libp2p stream per request (what the kept-open stream saves), a broadcast
 * from one node to 15, and the all-to-all exchange of a duty among 16 (each node broadcasts its
 * partial signature, done when every node holds 15).
 *
 * All hosts share this process's one event loop, so the 16-node figures include queueing that
 * 16 separate processes would not see: an upper bound for one machine per node. The CPU time
 * of the exchange is printed too: unlike its wall time, it hardly depends on the machine's load.
 */
import "../services/core/polyfills.js";
import { createServer, connect, type Socket } from "node:net";
import { ByteVectorType, ContainerType, UintNumberType } from "@chainsafe/ssz";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { tcp } from "@libp2p/tcp";
import { lpStream } from "@libp2p/utils";
import { createLibp2p } from "libp2p";
import { createLogger } from "../services/core/log/index.js";
import { defineProtocol } from "../services/core/p2p/codec.js";
import { type TestNode, startAll, stopAll, testCluster } from "../services/core/p2p/testing.js";
import type { Benchmark } from "./index.js";
import { percentile, printTable } from "./measure.js";

const ROUND_TRIPS = 2000;
const BROADCASTS = 300;
const DUTIES = 100;

/** About the size of a partial signature message: a slot, a validator index, a root, a BLS signature. */
const Partial = new ContainerType({
  slot: new UintNumberType(8),
  validatorIndex: new UintNumberType(8),
  signingRoot: new ByteVectorType(32),
  signature: new ByteVectorType(96),
});
type Partial = { slot: number; validatorIndex: number; signingRoot: Uint8Array; signature: Uint8Array };
const MESSAGE_BYTES = Partial.fixedSize!;

// Limits out of the way: this measures latency, not the limiter.
const unlimited = { perSecond: 1e6, burst: 1e6 };
const Echo = defineProtocol({ name: "bench/echo", version: "1.0.0", request: Partial, response: Partial, rateLimit: unlimited });
const Gossip = defineProtocol({ name: "bench/gossip", version: "1.0.0", request: Partial, rateLimit: unlimited });

const quiet = { logger: createLogger("p2p", { level: "warn" }) };

const partial = (slot: number, validatorIndex = 0): Partial => ({
  slot,
  validatorIndex,
  signingRoot: new Uint8Array(32).fill(slot & 0xff),
  signature: new Uint8Array(96).fill(7),
});

export const p2pBench: Benchmark = {
  name: "p2p",
  description: `ClusterHost latency on loopback (${MESSAGE_BYTES}-byte messages) vs a raw TCP echo round trip`,
  async run() {
    const tcpRtt = await rawTcpEcho();

    const pair = await testCluster(2, quiet);
    pair.forEach((n) => n.host.handle(Echo, (m) => m));
    await startAll(pair);
    const [a, b] = [pair[0]!.host, pair[1]!.host];
    const request = await samples(ROUND_TRIPS, (i) => a.send(b.self.peerId, Echo, partial(i)));
    await stopAll(pair);

    const perStream = await streamPerRequest();

    const sixteen = await testCluster(16, quiet);
    let onDelivery: (node: number) => void = () => undefined;
    sixteen.forEach((n, i) => n.host.handle(Gossip, () => onDelivery(i)));
    await startAll(sixteen, 60_000);
    const broadcast = await samples(BROADCASTS, async (i) => {
      const all = deliveries(15, (f) => (onDelivery = f));
      await sixteen[0]!.host.broadcast(Gossip, partial(i));
      await all;
    });
    const cpuBefore = process.cpuUsage();
    const duty = await samples(DUTIES, async (i) => {
      const all = deliveries(16 * 15, (f) => (onDelivery = f));
      await Promise.all(sixteen.map((n: TestNode) => n.host.broadcast(Gossip, partial(i, n.host.self.index))));
      await all;
    });
    const cpu = process.cpuUsage(cpuBefore);
    // CPU, unlike wall time, hardly depends on what else the machine runs.
    const cpuPerDutyMs = (cpu.user + cpu.system) / 1000 / (DUTIES + Math.ceil(DUTIES / 10));
    await stopAll(sixteen);

    const p50 = percentile(tcpRtt, 50);
    const rows: [string, number[]][] = [
      ["raw TCP echo round trip (reference)", tcpRtt],
      ["request/response, 2 hosts, kept-open stream", request],
      ["request/response, 2 libp2p nodes, a new stream each", perStream],
      ["broadcast 1 -> 15, until all 15 received", broadcast],
      ["duty exchange: 16 broadcast to 15, until all 240 received", duty],
    ];
    printTable(
      ["operation", "p50 ms", "p99 ms", "p50 x TCP"],
      rows.map(([name, s]) => [name, percentile(s, 50), percentile(s, 99), percentile(s, 50) / p50]),
    );
    console.log(`CPU per duty exchange: ${cpuPerDutyMs.toFixed(1)} ms for all 16 nodes, ${(cpuPerDutyMs / 16).toFixed(2)} ms per node (30 messages each)`);
  },
};

/** A promise for `count` calls of the function it installs through `install`. */
function deliveries(count: number, install: (f: (node: number) => void) => void): Promise<void> {
  return new Promise((resolve) => {
    let left = count;
    install(() => {
      if (--left === 0) resolve();
    });
  });
}

async function rawTcpEcho(): Promise<number[]> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket: Socket = connect((server.address() as { port: number }).port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once("connect", resolve));
  const message = Buffer.alloc(MESSAGE_BYTES, 1);
  try {
    return await samples(ROUND_TRIPS, async () => {
      let received = 0;
      await new Promise<void>((resolve) => {
        const onData = (chunk: Buffer) => {
          received += chunk.length;
          if (received < MESSAGE_BYTES) return;
          socket.off("data", onData);
          resolve();
        };
        socket.on("data", onData);
        socket.write(message);
      });
    });
  } finally {
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The same stack as ClusterHost, but a stream opened (and protocol negotiated) per request. */
async function streamPerRequest(): Promise<number[]> {
  const node = async () =>
    createLibp2p({
      privateKey: await generateKeyPair("secp256k1"),
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    });
  const [client, server] = await Promise.all([node(), node()]);
  try {
    await server.handle(Echo.id, async (stream) => {
      const lp = lpStream(stream);
      await lp.write(await lp.read());
      await stream.close();
    });
    const connection = await client.dial(server.getMultiaddrs()[0]!);
    return await samples(ROUND_TRIPS / 4, async (i) => {
      const stream = await connection.newStream(Echo.id);
      const lp = lpStream(stream);
      await lp.write(Partial.serialize(partial(i)));
      Partial.deserialize((await lp.read()).subarray());
      await stream.close();
    });
  } finally {
    await Promise.all([client.stop(), server.stop()]);
  }
}

/** Wall time in ms of each of `n` runs, after a tenth as many warm-up runs. */
async function samples(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.ceil(n / 10); i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return out;
}
