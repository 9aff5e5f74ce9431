/**
 * The one place nektar's wire formats are defined, each with its size bound.
 *
 * Messages are SSZ: what the cluster exchanges is mostly Ethereum data that is SSZ already
 * (attestation data, BLS points and signatures), SSZ is deterministic, every type has a maximum
 * size, and any consensus client's library can read it. A protocol names its request type and,
 * if it answers, its response type; the byte bound defaults to the type's own maximum.
 *
 * On a stream, messages travel in frames (one stream per peer and protocol, kept open):
 *
 *     frame = uvarint(len(body)) body                    the multiformats unsigned varint
 *     body  = kind:u8 payload                            kind 0 MESSAGE: one-way
 *           | kind:u8 id:u32be payload                   kind 1 REQUEST, 2 RESPONSE, 3 ERROR
 *
 * A MESSAGE or REQUEST payload is the SSZ of the request type, a RESPONSE the SSZ of the
 * response type, an ERROR why a request failed: a code byte (0 the handler failed, 1 rate
 * limited, 2 invalid request) and a UTF-8 reason of at most 256 bytes. The dialer
 * writes MESSAGE and REQUEST frames, the listener answers each REQUEST with a RESPONSE or an
 * ERROR carrying its id. A frame longer than its protocol allows is rejected from its length
 * prefix alone, before its body is buffered.
 */
import type { Type } from "@chainsafe/ssz";
import { P2pError } from "./errors.js";

export interface RateLimit {
  /** Messages per second per peer, sustained. */
  perSecond: number;
  /** Messages a peer may send at once, after being quiet. */
  burst: number;
}

/** A protocol: what a peer sends on it, what comes back (null: nothing, it is one-way). */
export interface Protocol<Req, Res> {
  /** "/nektar/<name>/<semver>": a breaking change is a new version, served beside the old. */
  readonly id: string;
  readonly request: Type<Req>;
  readonly response: Type<Res> | null;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  /** Applied per peer to incoming MESSAGE and REQUEST frames. */
  readonly rateLimit: RateLimit;
}

export interface ProtocolSpec<Req> {
  /** e.g. "dkg/commitments"; lowercase words separated by "/" or "-". */
  name: string;
  /** Semantic version, e.g. "1.0.0". */
  version: string;
  request: Type<Req>;
  /** Default: the request type's maximum SSZ size, at most DEFAULT_MAX_BYTES. */
  maxRequestBytes?: number;
  rateLimit?: RateLimit;
}

/** The bound when a type's own maximum is larger (a list with a generous limit) and none is given. */
export const DEFAULT_MAX_BYTES = 1 << 20;
/** No protocol may allow more: a frame is buffered whole before it is decoded. */
export const HARD_MAX_BYTES = 16 << 20;
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 2000, burst: 4000 };
const MAX_ERROR_BYTES = 256;
/** An ERROR payload's bound: the code byte and the reason. */
export const MAX_ERROR_PAYLOAD_BYTES = 1 + MAX_ERROR_BYTES;

/** A one-way protocol: `send` resolves once the message is written. */
export function defineProtocol<Req>(spec: ProtocolSpec<Req>): Protocol<Req, void>;
/** A request/response protocol: `send` resolves with the peer's answer. */
export function defineProtocol<Req, Res>(spec: ProtocolSpec<Req> & { response: Type<Res>; maxResponseBytes?: number }): Protocol<Req, Res>;
export function defineProtocol<Req, Res>(spec: ProtocolSpec<Req> & { response?: Type<Res>; maxResponseBytes?: number }): Protocol<Req, Res | void> {
  if (!/^[a-z0-9-]+(\/[a-z0-9-]+)*$/.test(spec.name)) throw new Error(`protocol name "${spec.name}": use lowercase words separated by "/" or "-"`);
  if (!/^\d+\.\d+\.\d+$/.test(spec.version)) throw new Error(`protocol ${spec.name}: version "${spec.version}" is not semver (e.g. 1.0.0)`);
  const id = `/nektar/${spec.name}/${spec.version}`;
  const bound = (type: Type<unknown>, given: number | undefined, what: string): number => {
    const max = given ?? Math.min(type.maxSize, DEFAULT_MAX_BYTES);
    if (!Number.isInteger(max) || max < type.minSize || max > HARD_MAX_BYTES) {
      throw new Error(`protocol ${id}: ${what} ${max} must be an integer between the type's minimum size ${type.minSize} and ${HARD_MAX_BYTES}`);
    }
    return max;
  };
  const rateLimit = spec.rateLimit ?? DEFAULT_RATE_LIMIT;
  if (!(rateLimit.perSecond > 0) || !(rateLimit.burst >= 1)) throw new Error(`protocol ${id}: rate limit needs perSecond > 0 and burst >= 1`);
  return {
    id,
    request: spec.request,
    response: spec.response ?? null,
    maxRequestBytes: bound(spec.request, spec.maxRequestBytes, "maxRequestBytes"),
    maxResponseBytes: spec.response === undefined ? 0 : bound(spec.response, spec.maxResponseBytes, "maxResponseBytes"),
    rateLimit,
  };
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** SSZ bytes of `value`, refused if over `maxBytes` (the receiver would reject them anyway). */
export function encodePayload<T>(type: Type<T>, value: T, maxBytes: number, protocolId: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = type.serialize(value);
  } catch (err) {
    throw new P2pError("invalid", `${protocolId}: cannot encode the message: ${(err as Error).message}`);
  }
  if (bytes.length > maxBytes) throw new P2pError("oversize", `${protocolId}: message of ${bytes.length} bytes exceeds the protocol's ${maxBytes}`);
  return bytes;
}

/** The value of SSZ bytes from a peer; throws P2pError("invalid") if they are not one. */
export function decodePayload<T>(type: Type<T>, bytes: Uint8Array, protocolId: string): T {
  try {
    return type.deserialize(bytes);
  } catch (err) {
    throw new P2pError("invalid", `${protocolId}: malformed message: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Frames

export enum FrameKind {
  Message = 0,
  Request = 1,
  Response = 2,
  Error = 3,
}

export type Frame = { kind: FrameKind.Message; payload: Uint8Array } | { kind: Exclude<FrameKind, FrameKind.Message>; id: number; payload: Uint8Array };

/** Bytes of a frame's body besides its payload, at most. */
export const FRAME_OVERHEAD = 5;

export function encodeFrame(frame: Frame): Uint8Array {
  const header = frame.kind === FrameKind.Message ? 1 : 5;
  const bodyLength = header + frame.payload.length;
  const prefix = uvarint(bodyLength);
  const out = new Uint8Array(prefix.length + bodyLength);
  out.set(prefix, 0);
  const view = new DataView(out.buffer);
  view.setUint8(prefix.length, frame.kind);
  if (frame.kind !== FrameKind.Message) view.setUint32(prefix.length + 1, frame.id);
  out.set(frame.payload, prefix.length + header);
  return out;
}

/** Why a request failed, as the first byte of an ERROR payload. */
const ERROR_CODES = ["remote", "rate_limited", "invalid"] as const;
export type RemoteFailure = (typeof ERROR_CODES)[number];

/** An ERROR payload: the failure code and a UTF-8 reason, cut to 256 bytes. */
export function encodeError(failure: RemoteFailure, reason: string): Uint8Array {
  let text = new TextEncoder().encode(reason);
  // Cut at a character boundary: a split one would decode as U+FFFD.
  if (text.length > MAX_ERROR_BYTES) text = new TextEncoder().encode(new TextDecoder().decode(text.subarray(0, MAX_ERROR_BYTES - 3)).replace(/\uFFFD$/, "") + "...");
  return new Uint8Array([ERROR_CODES.indexOf(failure), ...text]);
}

export function decodeError(payload: Uint8Array): { failure: RemoteFailure; reason: string } {
  return { failure: ERROR_CODES[payload[0] ?? 0] ?? "remote", reason: new TextDecoder().decode(payload.subarray(1, 1 + MAX_ERROR_BYTES)) };
}

/**
 * Splits a byte stream into frames. `maxPayloadBytes` bounds what the other side may send:
 * a longer frame throws P2pError("oversize") as soon as its length prefix arrives, before its
 * body is buffered.
 */
export class FrameDecoder {
  private readonly maxBodyBytes: number;
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  /** Bytes the frame being received needs in total, prefix included (0: not known yet). */
  private needed = 0;

  constructor(
    maxPayloadBytes: number,
    private readonly protocolId: string,
  ) {
    this.maxBodyBytes = maxPayloadBytes + FRAME_OVERHEAD;
  }

  *decode(chunk: Uint8Array): Generator<Frame> {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes < this.needed) return; // a large frame still arriving: no copying yet
    // One chunk (the usual case) is parsed in place; several are joined once.
    const bytes = this.buffered.length === 1 ? chunk : new Uint8Array(Buffer.concat(this.buffered, this.bufferedBytes));
    let offset = 0;
    this.needed = 0;
    while (offset < bytes.length) {
      const prefix = readUvarint(bytes, offset, this.protocolId);
      if (prefix === undefined) break;
      if (prefix.value > this.maxBodyBytes) {
        throw new P2pError("oversize", `${this.protocolId}: frame of ${prefix.value} bytes exceeds the protocol's ${this.maxBodyBytes}`);
      }
      const end = offset + prefix.length + prefix.value;
      if (end > bytes.length) {
        this.needed = end - offset;
        break;
      }
      yield this.frame(bytes.subarray(offset + prefix.length, end));
      offset = end;
    }
    const rest = bytes.subarray(offset);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
  }

  private frame(body: Uint8Array): Frame {
    const kind = body[0] as FrameKind;
    if (kind === FrameKind.Message) return { kind, payload: body.subarray(1) };
    if (kind <= FrameKind.Error && body.length >= 5) {
      return { kind, id: new DataView(body.buffer, body.byteOffset, body.length).getUint32(1), payload: body.subarray(5) };
    }
    throw new P2pError("invalid", `${this.protocolId}: malformed frame (kind ${kind}, ${body.length} bytes)`);
  }
}

function uvarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** The uvarint at `offset`, or undefined if it is not all there yet. Minimal encodings only. */
function readUvarint(bytes: Uint8Array, offset: number, protocolId: string): { value: number; length: number } | undefined {
  let value = 0;
  // Four 7-bit groups reach 256 MiB, beyond any protocol's bound: a fifth byte is oversize.
  for (let i = 0; i < 5; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return undefined;
    if (i === 4) return { value: Number.MAX_SAFE_INTEGER, length: 5 };
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) {
      // A zero here is an empty frame (i = 0) or a padded, non-minimal length: neither is sent.
      if (byte === 0) throw new P2pError("invalid", `${protocolId}: malformed frame length`);
      return { value, length: i + 1 };
    }
  }
  return undefined;
}
