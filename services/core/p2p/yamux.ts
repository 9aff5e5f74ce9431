/**
 * Yamux window updates once half a stream's receive window is used, not after every frame.
 *
 * @chainsafe/libp2p-yamux 8 answers every data frame it receives with a window update: each
 * small message costs a second frame back the other way, encrypted, written, read and decrypted
 * like the message itself. For the cluster's traffic (a partial signature is ~150 bytes) that
 * is most of the host's CPU per message after the message's own frame (bench/p2p.ts, duty
 * exchange among 16: about 40% less CPU without it). Go and Rust yamux grant credit back only
 * once half the window is consumed, which keeps a sender from ever waiting on a full window
 * while sending a fraction of the updates; this gives our streams the same rule.
 *
 * It wraps the stream's own `sendWindowUpdate` (not exported API, hence the checks): on a
 * stream that is established, an update is skipped while at least half the window is left;
 * otherwise (the first frame's ACK, a paused stream, a stream past half its window) yamux's
 * own logic runs unchanged, window auto-tuning included. Why this never starves a sender: its
 * credit is the receiver's remaining window less what is in flight, so a sender out of credit
 * means the receiver's window reaches 0 once that data arrives, and that arrival sends the
 * update. On anything that is not a yamux 8 stream it does nothing.
 */
import type { Stream } from "@libp2p/interface";

/** The fields of @chainsafe/libp2p-yamux 8's YamuxStream this relies on. */
interface YamuxStreamWindow {
  state: number;
  recvWindow: number;
  recvWindowCapacity: number;
  sendWindowUpdate(): void;
}

/** `StreamState.Established` in @chainsafe/libp2p-yamux 8 (the enum is not exported). */
const ESTABLISHED = 3;

/** Makes `stream` send window updates only past half its receive window; true if it could. */
export function lazyWindowUpdates(stream: Stream): boolean {
  const s = stream as unknown as Partial<YamuxStreamWindow>;
  if (typeof s.sendWindowUpdate !== "function" || typeof s.recvWindow !== "number" || typeof s.recvWindowCapacity !== "number" || typeof s.state !== "number") {
    return false;
  }
  const eager = s.sendWindowUpdate;
  s.sendWindowUpdate = function (this: YamuxStreamWindow): void {
    if (this.state === ESTABLISHED && this.recvWindowCapacity >= this.recvWindow / 2) return;
    eager.call(this);
  };
  return true;
}
