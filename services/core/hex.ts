/** Hex as Ethereum writes it: lowercase, 0x-prefixed. */
import { NektarError } from "./errors.js";

export function toHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/**
 * Parses 0x-prefixed (or bare) hex. `what` names the input in the error, e.g.
 * "deposit_data.json entry 2: pubkey"; `length` is the expected byte length, if fixed.
 */
export function fromHex(hex: string, what: string, length?: number): Uint8Array {
  if (typeof hex !== "string") throw new NektarError(`${what}: expected a hex string, got ${typeof hex}`);
  const body = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) {
    throw new NektarError(`${what}: not valid hex (${abbreviate(hex)})`);
  }
  const bytes = new Uint8Array(Buffer.from(body, "hex"));
  if (length !== undefined && bytes.length !== length) {
    throw new NektarError(`${what}: expected ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function abbreviate(s: string): string {
  return s.length > 20 ? `${s.slice(0, 18)}…` : s;
}
