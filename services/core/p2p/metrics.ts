/**
 * The p2p layer's Prometheus metrics. Registered on the registry the caller passes (never the
 * global one), so several hosts can live in one process, as they do in tests and benchmarks.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { P2pFailure } from "./errors.js";

export type Direction = "inbound" | "outbound";

/** Frames and their payload bytes for one protocol and direction; a channel holds it and adds to it. */
export interface FrameCount {
  readonly protocol: string;
  readonly direction: Direction;
  messages: number;
  bytes: number;
}

export class P2pMetrics {
  readonly peersConnected: Gauge;
  readonly messages: Counter<"protocol" | "direction">;
  readonly messageBytes: Counter<"protocol" | "direction">;
  readonly rejected: Counter<"reason" | "protocol">;
  readonly handlerErrors: Counter<"protocol">;
  /** Running counts of frames per protocol and direction, read into the two counters at scrape time. */
  private readonly frameCounts = new Map<string, FrameCount>();

  /** `rtts` reports each connected peer's latest round-trip time, read at scrape time. */
  constructor(registry: Registry, rtts: () => Iterable<[peer: string, seconds: number]>) {
    const registers = [registry];
    this.peersConnected = new Gauge({
      name: "nektar_p2p_peers_connected",
      help: "Operators of the cluster this node has a connection to",
      registers,
    });
    const counts = this.frameCounts;
    this.messages = new Counter({
      name: "nektar_p2p_messages_total",
      help: "Frames (messages, requests, responses) sent and received, by protocol",
      labelNames: ["protocol", "direction"],
      registers,
      collect() {
        this.reset();
        for (const c of counts.values()) this.inc({ protocol: c.protocol, direction: c.direction }, c.messages);
      },
    });
    this.messageBytes = new Counter({
      name: "nektar_p2p_message_bytes_total",
      help: "Bytes of frames sent and received, by protocol",
      labelNames: ["protocol", "direction"],
      registers,
      collect() {
        this.reset();
        for (const c of counts.values()) this.inc({ protocol: c.protocol, direction: c.direction }, c.bytes);
      },
    });
    this.rejected = new Counter({
      name: "nektar_p2p_rejected_total",
      help: "Connections and messages refused, by reason (gater: not an operator; oversize; rate_limited; invalid)",
      labelNames: ["reason", "protocol"],
      registers,
    });
    this.handlerErrors = new Counter({
      name: "nektar_p2p_handler_errors_total",
      help: "Messages whose handler threw, by protocol",
      labelNames: ["protocol"],
      registers,
    });
    new Gauge({
      name: "nektar_p2p_rtt_seconds",
      help: "Round-trip time to each connected operator, from the latest libp2p ping",
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        for (const [peer, seconds] of rtts()) this.set({ peer }, seconds);
      },
    });
  }

  /**
   * The running count of frames for `protocol` in `direction`. Frames are counted per message,
   * so a channel keeps this object and adds to two numbers; the counters read them when scraped.
   */
  frames(protocol: string, direction: Direction): FrameCount {
    const key = `${direction} ${protocol}`;
    let count = this.frameCounts.get(key);
    if (count === undefined) this.frameCounts.set(key, (count = { protocol, direction, messages: 0, bytes: 0 }));
    return count;
  }

  reject(reason: Extract<P2pFailure, "oversize" | "rate_limited" | "invalid"> | "gater", protocol = ""): void {
    this.rejected.inc({ reason, protocol });
  }
}
