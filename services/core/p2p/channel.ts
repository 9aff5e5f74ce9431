/**
 * The two ends of a protocol's stream between two operators. The dialer opens one stream per
 * peer and protocol and keeps it: a message costs a frame on an open stream, not a stream
 * negotiation (measured by bench/p2p.ts: a new stream per message is ~6x slower on loopback).
 */
import type { Stream, StreamMessageEvent } from "@libp2p/interface";
import type { Logger } from "../log/index.js";
import {
  type Frame,
  type Protocol,
  type RemoteFailure,
  FrameDecoder,
  FrameKind,
  MAX_ERROR_PAYLOAD_BYTES,
  decodeError,
  decodePayload,
  encodeError,
  encodeFrame,
  encodePayload,
} from "./codec.js";
import { P2pError } from "./errors.js";
import type { Peer } from "./host.js";
import type { FrameCount, P2pMetrics } from "./metrics.js";
import type { TokenBucket } from "./ratelimit.js";

export interface ChannelContext {
  readonly metrics: P2pMetrics;
  readonly log: Logger;
}

interface Pending {
  resolve(payload: Uint8Array): void;
  reject(err: P2pError): void;
  timer: NodeJS.Timeout;
}

/** The dialer's end: writes messages and requests, matches responses to requests by id. */
export class OutboundChannel {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly sent: FrameCount;
  private readonly received: FrameCount;

  constructor(
    private readonly stream: Stream,
    private readonly protocol: Protocol<unknown, unknown>,
    readonly peer: Peer,
    private readonly ctx: ChannelContext,
    onClose: () => void,
  ) {
    this.sent = ctx.metrics.frames(protocol.id, "outbound");
    this.received = ctx.metrics.frames(protocol.id, "inbound");
    const decoder = new FrameDecoder(Math.max(protocol.maxResponseBytes, MAX_ERROR_PAYLOAD_BYTES), protocol.id);
    stream.addEventListener("message", (evt: StreamMessageEvent) => {
      try {
        for (const frame of decoder.decode(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray())) this.onFrame(frame);
      } catch (err) {
        this.fail(err);
      }
    });
    stream.addEventListener("close", (evt) => {
      const reason = new P2pError("closed", `${protocol.id} to ${peer.name}: stream closed${evt.error ? ` (${evt.error.message})` : ""}`);
      for (const [id, p] of this.pending) this.settle(id, p, () => p.reject(reason));
      onClose();
    });
  }

  /**
   * Writes a one-way message (SSZ payload, already bounded). `signal` bounds the wait when the
   * peer is not reading and the stream's buffer is full.
   */
  async message(payload: Uint8Array, signal: AbortSignal): Promise<void> {
    await this.write(encodeFrame({ kind: FrameKind.Message, payload }), payload.length, signal);
  }

  /** Sends a request and resolves with the response's SSZ payload, or fails after `timeoutMs`. */
  request(payload: Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<Uint8Array> {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
    const timer = setTimeout(() => {
      const p = this.pending.get(id);
      if (p) this.settle(id, p, () => p.reject(new P2pError("timeout", `${this.protocol.id} to ${this.peer.name}: no response in ${timeoutMs} ms`)));
    }, timeoutMs);
    this.pending.set(id, { resolve, reject, timer });
    // Not awaited: the caller must hold `promise` before the timer can reject it, or a timeout
    // during a drain wait would be an unhandled rejection.
    this.write(encodeFrame({ kind: FrameKind.Request, id, payload }), payload.length, signal).catch((err: unknown) => {
      const p = this.pending.get(id);
      if (p) this.settle(id, p, () => p.reject(err as P2pError));
    });
    return promise;
  }

  /**
   * Writes an encoded frame now if the stream can take it without waiting (open, buffer not
   * full): the usual case, and no promise. False if it did not; `write` then waits or fails.
   */
  tryWrite(frame: Uint8Array, payloadBytes: number): boolean {
    if (this.stream.status !== "open" || this.stream.writableNeedsDrain) return false;
    try {
      this.stream.send(frame);
    } catch {
      return false;
    }
    this.count(payloadBytes);
    return true;
  }

  /** Writes an encoded frame, waiting (bounded by `signal`) while the stream's buffer is full. */
  async write(frame: Uint8Array, payloadBytes: number, signal: AbortSignal): Promise<void> {
    try {
      if (this.stream.writableNeedsDrain) await this.stream.onDrain({ signal });
      this.stream.send(frame);
    } catch (err) {
      throw new P2pError("closed", `${this.protocol.id} to ${this.peer.name}: cannot write: ${(err as Error).message}`, { cause: err });
    }
    this.count(payloadBytes);
  }

  close(): void {
    this.stream.abort(new Error("host stopping"));
  }

  private count(payloadBytes: number): void {
    this.sent.messages++;
    this.sent.bytes += payloadBytes;
  }

  private onFrame(frame: Frame): void {
    this.received.messages++;
    this.received.bytes += frame.payload.length;
    if (frame.kind !== FrameKind.Response && frame.kind !== FrameKind.Error) {
      throw new P2pError("invalid", `${this.protocol.id} from ${this.peer.name}: a listener sent a frame of kind ${frame.kind}`);
    }
    const p = this.pending.get(frame.id);
    if (p === undefined) return; // timed out already
    if (frame.kind === FrameKind.Response) {
      // Copied: the payload is a view of a receive buffer.
      this.settle(frame.id, p, () => p.resolve(frame.payload.slice()));
    } else {
      const { failure, reason } = decodeError(frame.payload);
      this.settle(frame.id, p, () => p.reject(new P2pError(failure, `${this.protocol.id}: ${this.peer.name} answered: ${reason}`)));
    }
  }

  private settle(id: number, p: Pending, action: () => void): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    action();
  }

  private fail(err: unknown): void {
    const failure = err instanceof P2pError ? err : new P2pError("invalid", String(err));
    if (failure.reason === "oversize" || failure.reason === "invalid") this.ctx.metrics.reject(failure.reason, this.protocol.id);
    this.ctx.log.warn({ peer: this.peer.name, protocol: this.protocol.id, err: failure.message }, "closing stream");
    this.stream.abort(failure);
  }
}

export type Handler<Req, Res> = (message: Req, from: Peer) => Res | Promise<Res>;

/**
 * The listener's end: each MESSAGE or REQUEST, in arrival order, is checked against the
 * protocol's rate limit and decoded, then handed to the handler; a REQUEST is answered with
 * the handler's result or an ERROR. Handlers start in arrival order and may overlap.
 */
export function serveInbound<Req, Res>(
  stream: Stream,
  protocol: Protocol<Req, Res>,
  peer: Peer,
  handler: Handler<Req, Res>,
  bucket: TokenBucket,
  ctx: ChannelContext,
): void {
  const { metrics, log } = ctx;
  const decoder = new FrameDecoder(protocol.maxRequestBytes, protocol.id);
  const sent = metrics.frames(protocol.id, "outbound");
  const received = metrics.frames(protocol.id, "inbound");
  const respond = (frame: Frame): void => {
    try {
      // Past the high-water mark send() queues; a peer that stops reading is reset by yamux.
      stream.send(encodeFrame(frame));
      sent.messages++;
      sent.bytes += frame.payload.length;
    } catch (err) {
      log.debug({ peer: peer.name, protocol: protocol.id, err: (err as Error).message }, "cannot answer: stream closed");
    }
  };
  const fail = (id: number, failure: RemoteFailure, reason: string): void => respond({ kind: FrameKind.Error, id, payload: encodeError(failure, reason) });

  const failed = (id: number, err: unknown): void => {
    metrics.handlerErrors.inc({ protocol: protocol.id });
    log.warn({ peer: peer.name, protocol: protocol.id, err: (err as Error).message }, "handler failed");
    if (id >= 0) fail(id, "remote", (err as Error).message);
  };
  const answer = (id: number, result: Res): void => {
    if (id < 0) return;
    try {
      respond({ kind: FrameKind.Response, id, payload: encodePayload(protocol.response!, result, protocol.maxResponseBytes, protocol.id) });
    } catch (err) {
      failed(id, err);
    }
  };

  const onFrame = (frame: Frame): void => {
    received.messages++;
    received.bytes += frame.payload.length;
    const oneWay = protocol.response === null;
    if (frame.kind !== (oneWay ? FrameKind.Message : FrameKind.Request)) {
      throw new P2pError("invalid", `${protocol.id} from ${peer.name}: unexpected frame of kind ${frame.kind}`);
    }
    const id = frame.kind === FrameKind.Request ? frame.id : -1;
    if (!bucket.tryTake()) {
      metrics.reject("rate_limited", protocol.id);
      log.debug({ peer: peer.name, protocol: protocol.id }, "rate limited");
      if (id >= 0) fail(id, "rate_limited", "rate limited");
      return;
    }
    let message: Req;
    try {
      message = decodePayload(protocol.request, frame.payload, protocol.id);
    } catch (err) {
      metrics.reject("invalid", protocol.id);
      log.debug({ peer: peer.name, protocol: protocol.id, err: (err as Error).message }, "dropping malformed message");
      if (id >= 0) fail(id, "invalid", (err as Error).message);
      return;
    }
    // Called here, not from an async wrapper: a synchronous handler (the usual one-way case)
    // costs no promise; an asynchronous one is answered when it settles.
    let result: Res | Promise<Res>;
    try {
      result = handler(message, peer);
    } catch (err) {
      failed(id, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => answer(id, value),
        (err: unknown) => failed(id, err),
      );
    } else {
      answer(id, result);
    }
  };

  stream.addEventListener("message", (evt: StreamMessageEvent) => {
    try {
      for (const frame of decoder.decode(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray())) onFrame(frame);
    } catch (err) {
      const failure = err instanceof P2pError ? err : new P2pError("invalid", String(err));
      if (failure.reason === "oversize" || failure.reason === "invalid") metrics.reject(failure.reason, protocol.id);
      log.warn({ peer: peer.name, protocol: protocol.id, err: failure.message }, "closing stream");
      stream.abort(failure);
    }
  });
}
