/**
 * lazyWindowUpdates on a real yamux session (the muxer ClusterHost uses) over an in-memory
 * connection pair: what the receiving side writes back is counted.
 */
import { describe, expect, it } from "@jest/globals";
import { yamux } from "@chainsafe/libp2p-yamux";
import type { Stream } from "@libp2p/interface";
import { multiaddrConnectionPair } from "@libp2p/utils";
import { lazyWindowUpdates } from "./yamux.js";

/** A yamux session; `lazy` applies lazyWindowUpdates to the receiver's stream. Bytes the receiver writes are counted. */
async function session(lazy: boolean) {
  const [outbound, inbound] = multiaddrConnectionPair();
  let back = 0;
  const send = inbound.send.bind(inbound);
  inbound.send = (data) => {
    back += data.byteLength;
    return send(data);
  };
  const factory = yamux()();
  const client = factory.createStreamMuxer(outbound);
  const server = factory.createStreamMuxer(inbound);
  const accepted = new Promise<Stream>((resolve) => server.addEventListener("stream", (evt) => resolve(evt.detail), { once: true }));
  const stream = await client.createStream();
  stream.send(Uint8Array.of(0)); // opens the stream: SYN, then the receiver's ACK
  const receiver = await accepted;
  if (lazy) expect(lazyWindowUpdates(receiver)).toBe(true);
  let received = 0;
  receiver.addEventListener("message", (evt) => (received += evt.data.byteLength));
  const receivedAll = async (bytes: number) => {
    while (received < bytes) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  return { stream, receivedAll, back: () => back, close: () => Promise.all([client.close(), server.close()]) };
}

async function sendSmall(s: Awaited<ReturnType<typeof session>>, count: number): Promise<number> {
  await s.receivedAll(1);
  const before = s.back();
  // One at a time, as the cluster's messages go: each its own data frame.
  for (let i = 1; i <= count; i++) {
    s.stream.send(new Uint8Array(150).fill(i));
    await s.receivedAll(1 + i * 150);
  }
  return s.back() - before;
}

describe("lazyWindowUpdates", () => {
  it("sends no window update for small messages while half the window is left, where yamux sends one each", async () => {
    const eager = await session(false);
    const lazy = await session(true);
    try {
      // A window update is a 12-byte frame: yamux alone answers each of the 100 messages.
      expect(await sendSmall(eager, 100)).toBeGreaterThanOrEqual(100 * 12);
      expect(await sendSmall(lazy, 100)).toBe(0);
    } finally {
      await Promise.all([eager.close(), lazy.close()]);
    }
  });

  it("still grants credit back: a transfer of many windows completes", async () => {
    const lazy = await session(true);
    try {
      // 4 MiB through a 256 KiB initial window: stalls for good unless updates still flow.
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 64; i++) {
        if (!lazy.stream.send(chunk)) await lazy.stream.onDrain();
      }
      await lazy.receivedAll(1 + 64 * chunk.length);
      expect(lazy.back()).toBeGreaterThan(0);
    } finally {
      await lazy.close();
    }
  }, 30_000);

  it("leaves anything that is not a yamux stream alone", () => {
    expect(lazyWindowUpdates({} as Stream)).toBe(false);
  });
});
