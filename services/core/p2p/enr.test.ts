import { describe, expect, it } from "@jest/globals";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { NektarError } from "../errors.js";
import { fromHex } from "../hex.js";
import { encodeEnr } from "./enr.js";
import { generateIdentity, identityFromSecret } from "./identity.js";

describe("encodeEnr", () => {
  it("reproduces the example record of EIP-778", () => {
    // EIP-778, "Test Vectors": seq 1, ip 127.0.0.1, udp 30303.
    const identity = identityFromSecret(fromHex("0xb71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291", "key", 32), "key");
    expect(encodeEnr(identity, { ip: "127.0.0.1", udp: 30303 })).toBe(
      "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8",
    );
  });

  it("signs the record with the identity's key", () => {
    const identity = generateIdentity();
    const record = Buffer.from(encodeEnr(identity, { ip: "10.0.0.7", tcp: 3610 }).slice(4), "base64url");
    // A list (0xf8 <length>) whose first item is the 64-byte signature (0xb8 0x40 = a 64-byte string).
    const body = record.subarray(2);
    expect(body[0]).toBe(0xb8);
    expect(body[1]).toBe(64);
    const signature = body.subarray(2, 66);
    const content = body.subarray(66);
    // What was signed is the RLP list of the content: here 56..255 bytes long, so 0xf8 <length>.
    expect(content.length).toBeGreaterThan(55);
    const signed = Buffer.concat([Buffer.of(0xf8, content.length), content]);
    const publicKey = secp256k1.getPublicKey(identity.privateKey.raw, true);
    expect(secp256k1.verify(signature, keccak_256(signed), publicKey, { prehash: false })).toBe(true);
    expect(content.includes(Buffer.from(publicKey))).toBe(true);
  });

  it("names the field that is wrong", () => {
    const identity = generateIdentity();
    expect(() => encodeEnr(identity, { ip: "::1" })).toThrow(NektarError);
    expect(() => encodeEnr(identity, { ip: "::1" })).toThrow(/ENR ip/);
    expect(() => encodeEnr(identity, { tcp: 70000 })).toThrow(/ENR tcp: 70000/);
  });
});
