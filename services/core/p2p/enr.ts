/**
 * Ethereum Node Records (EIP-778, "v4" identity scheme) for an operator identity: the form in
 * which Ethereum tooling (and Charon's cluster definitions) name a node. nektar's own cluster
 * definition names operators by libp2p peer id; the ENR is shown for operators who know that
 * form, and carries the same key.
 */
import { isIPv4 } from "node:net";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { NektarError } from "../errors.js";
import type { Identity } from "./identity.js";

export interface EnrFields {
  /** Sequence number; bump it whenever the record changes. Default 1. */
  seq?: number;
  ip?: string;
  tcp?: number;
  udp?: number;
}

/** The `enr:...` text form of the record, signed with the identity's key. */
export function encodeEnr(identity: Identity, fields: EnrFields = {}): string {
  const secret = identity.privateKey.raw;
  // Keys in byte order, as EIP-778 requires.
  const pairs: [string, Uint8Array][] = [["id", utf8("v4")]];
  if (fields.ip !== undefined) {
    if (!isIPv4(fields.ip)) throw new NektarError(`ENR ip: "${fields.ip}" is not an IPv4 address`);
    pairs.push(["ip", Uint8Array.from(fields.ip.split(".").map(Number))]);
  }
  pairs.push(["secp256k1", secp256k1.getPublicKey(secret, true)]);
  if (fields.tcp !== undefined) pairs.push(["tcp", uint(port(fields.tcp, "tcp"))]);
  if (fields.udp !== undefined) pairs.push(["udp", uint(port(fields.udp, "udp"))]);

  const content = [uint(fields.seq ?? 1), ...pairs.flatMap(([k, v]) => [utf8(k), v])];
  const signature = secp256k1.sign(keccak_256(rlpList(content)), secret, { prehash: false });
  const record = rlpList([signature, ...content]);
  if (record.length > 300) throw new NektarError(`ENR: ${record.length} bytes, more than the 300 EIP-778 allows`);
  return "enr:" + Buffer.from(record).toString("base64url");
}

function port(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new NektarError(`ENR ${what}: ${value} is not a port (1..65535)`);
  return value;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A non-negative integer as RLP wants it: big-endian, no leading zeros (0 is empty). */
function uint(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  return Uint8Array.from(bytes);
}

// RLP (Ethereum yellow paper, appendix B), encoding only: a byte string or a list of them.
function rlpBytes(b: Uint8Array): Uint8Array {
  if (b.length === 1 && b[0]! < 0x80) return b;
  return concat([rlpLength(b.length, 0x80), b]);
}

function rlpList(items: Uint8Array[]): Uint8Array {
  const payload = concat(items.map(rlpBytes));
  return concat([rlpLength(payload.length, 0xc0), payload]);
}

function rlpLength(length: number, offset: number): Uint8Array {
  if (length <= 55) return Uint8Array.of(offset + length);
  const len = uint(length);
  return Uint8Array.of(offset + 55 + len.length, ...len);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
