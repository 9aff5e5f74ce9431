import { describe, expect, it } from "@jest/globals";
import { ByteListType, ByteVectorType, ContainerType, UintNumberType } from "@chainsafe/ssz";
import {
  DEFAULT_MAX_BYTES,
  type Frame,
  FrameDecoder,
  FrameKind,
  MAX_ERROR_PAYLOAD_BYTES,
  decodeError,
  decodePayload,
  defineProtocol,
  encodeError,
  encodeFrame,
  encodePayload,
} from "./codec.js";
import { P2pError } from "./errors.js";

const Small = new ContainerType({ slot: new UintNumberType(8), root: new ByteVectorType(32) });
const Big = new ByteListType(1 << 24);

const frames: Frame[] = [
  { kind: FrameKind.Message, payload: Uint8Array.of(1, 2, 3) },
  { kind: FrameKind.Request, id: 0xfffffffe, payload: new Uint8Array(200).fill(7) },
  { kind: FrameKind.Response, id: 1, payload: new Uint8Array(0) },
  { kind: FrameKind.Error, id: 2, payload: encodeError("remote", "no") },
];

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): Frame[] {
  return chunks.flatMap((c) => [...decoder.decode(c)]).map((f) => ({ ...f, payload: f.payload.slice() }));
}

describe("defineProtocol", () => {
  it("versions the protocol id and bounds messages by their type", () => {
    const p = defineProtocol({ name: "signer/partial-signatures", version: "1.0.0", request: Small });
    expect(p.id).toBe("/nektar/signer/partial-signatures/1.0.0");
    expect(p.maxRequestBytes).toBe(40);
    expect(p.response).toBeNull();
    const q = defineProtocol({ name: "dkg/sync", version: "2.1.0", request: Big, response: Small });
    expect(q.maxRequestBytes).toBe(DEFAULT_MAX_BYTES);
    expect(q.maxResponseBytes).toBe(40);
  });

  it("refuses ids and bounds that cannot work", () => {
    expect(() => defineProtocol({ name: "Dkg Sync", version: "1.0.0", request: Small })).toThrow(/lowercase words/);
    expect(() => defineProtocol({ name: "dkg/sync", version: "v1", request: Small })).toThrow(/not semver/);
    expect(() => defineProtocol({ name: "dkg/sync", version: "1.0.0", request: Small, maxRequestBytes: 39 })).toThrow(/minimum size 40/);
    expect(() => defineProtocol({ name: "dkg/sync", version: "1.0.0", request: Big, maxRequestBytes: 1 << 25 })).toThrow(/16777216/);
    expect(() => defineProtocol({ name: "dkg/sync", version: "1.0.0", request: Small, rateLimit: { perSecond: 0, burst: 1 } })).toThrow(/rate limit/);
  });
});

describe("payloads", () => {
  it("refuses to encode more than the bound, and names the protocol", () => {
    expect(encodePayload(Big, new Uint8Array(100), 100, "/nektar/x/1.0.0")).toHaveLength(100);
    const err = (() => {
      try {
        encodePayload(Big, new Uint8Array(101), 100, "/nektar/x/1.0.0");
      } catch (e) {
        return e as P2pError;
      }
    })();
    expect(err).toBeInstanceOf(P2pError);
    expect(err?.reason).toBe("oversize");
    expect(err?.message).toBe("/nektar/x/1.0.0: message of 101 bytes exceeds the protocol's 100");
  });

  it("decodes SSZ, and calls anything else invalid", () => {
    const value = { slot: 12345, root: new Uint8Array(32).fill(9) };
    expect(decodePayload(Small, Small.serialize(value), "/p")).toEqual(value);
    expect(() => decodePayload(Small, new Uint8Array(39), "/p")).toThrow(expect.objectContaining({ reason: "invalid" }) as unknown as Error);
  });
});

describe("frames", () => {
  it("round-trip, whatever the chunking", () => {
    const wire = Buffer.concat(frames.map(encodeFrame));
    expect(decodeAll(new FrameDecoder(1000, "/p"), [wire])).toEqual(frames);
    expect(decodeAll(new FrameDecoder(1000, "/p"), [...wire].map((b) => Uint8Array.of(b)))).toEqual(frames);
    const cuts = [1, 2, 7, 150, 209, wire.length];
    const chunks = cuts.map((end, i) => wire.subarray(i === 0 ? 0 : cuts[i - 1], end));
    expect(decodeAll(new FrameDecoder(1000, "/p"), chunks)).toEqual(frames);
  });

  it("encodes lengths as multiformats uvarints", () => {
    const frame = encodeFrame({ kind: FrameKind.Message, payload: new Uint8Array(299) });
    // Body of 300 bytes: 0xac 0x02.
    expect([...frame.subarray(0, 3)]).toEqual([0xac, 0x02, FrameKind.Message]);
  });

  it("rejects an oversize frame from its length prefix alone", () => {
    const decoder = new FrameDecoder(100, "/nektar/x/1.0.0");
    const prefix = encodeFrame({ kind: FrameKind.Message, payload: new Uint8Array(1 << 20) }).subarray(0, 3);
    expect(() => [...decoder.decode(prefix)]).toThrow("/nektar/x/1.0.0: frame of 1048577 bytes exceeds the protocol's 105");
    // The bound is the payload plus the 5-byte header: a 100-byte request passes.
    expect(decodeAll(new FrameDecoder(100, "/p"), [encodeFrame({ kind: FrameKind.Request, id: 1, payload: new Uint8Array(100) })])).toHaveLength(1);
    // A length that needs 5 varint bytes is beyond any bound.
    expect(() => [...new FrameDecoder(100, "/p").decode(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01))]).toThrow(expect.objectContaining({ reason: "oversize" }) as unknown as Error);
  });

  it("rejects malformed frames", () => {
    const invalid = expect.objectContaining({ reason: "invalid" }) as unknown as Error;
    expect(() => [...new FrameDecoder(100, "/p").decode(Uint8Array.of(0))]).toThrow(invalid); // empty frame
    expect(() => [...new FrameDecoder(100, "/p").decode(Uint8Array.of(0x81, 0x00, 0))]).toThrow(invalid); // padded length
    expect(() => [...new FrameDecoder(100, "/p").decode(Uint8Array.of(1, 9))]).toThrow(invalid); // unknown kind
    expect(() => [...new FrameDecoder(100, "/p").decode(Uint8Array.of(3, FrameKind.Request, 0, 0))]).toThrow(invalid); // id cut short
  });

  it("carries a failure code and a bounded reason in ERROR frames", () => {
    expect(decodeError(encodeError("rate_limited", "slow down"))).toEqual({ failure: "rate_limited", reason: "slow down" });
    const long = encodeError("remote", "é".repeat(300));
    expect(long.length).toBeLessThanOrEqual(MAX_ERROR_PAYLOAD_BYTES);
    expect(decodeError(long).reason).toMatch(/^(é)+\.\.\.$/);
  });
});
