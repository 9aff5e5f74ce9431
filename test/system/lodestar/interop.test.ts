import { describe, expect, it } from "@jest/globals";
import { toHex } from "../../../services/core/hex.js";
import { interopSecretKey } from "./interop.js";

// The first keys of eth2.0-pm's interop/mocked_start/keygen_10_validators.yaml, which clients'
// own test suites (Teku, Nethermind) quote; index 6 and 7 are what `lodestar dev` reports as the
// pubkeys of the genesis validators it leaves to an external validator client.
const VECTORS = [
  {
    index: 0,
    secret: "0x25295f0d1d592a90b333e26e85149708208e9f8e8bc18f6c77bd62f8ad7a6866",
    pubkey: "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c",
  },
  {
    index: 1,
    secret: "0x51d0b65185db6989ab0b560d6deed19c7ead0e24b9b6372cbecb1f26bdfad000",
    pubkey: "0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b",
  },
];

describe("interop keys", () => {
  it.each(VECTORS)("derives validator $index's published key pair", ({ index, secret, pubkey }) => {
    const key = interopSecretKey(index);
    expect(toHex(key.toBytes())).toBe(secret);
    expect(toHex(key.toPublicKey().toBytes())).toBe(pubkey);
  });

  it("matches the genesis pubkeys of Lodestar's dev chain for validators 6 and 7", () => {
    expect(toHex(interopSecretKey(6).toPublicKey().toBytes())).toBe(
      "0x9977f1c8b731a8d5558146bfb86caea26434f3c5878b589bf280a42c9159e700e9df0e4086296c20b011d2e78c27d373",
    );
    expect(toHex(interopSecretKey(7).toPublicKey().toBytes())).toBe(
      "0xa8d4c7c27795a725961317ef5953a7032ed6d83739db8b0e8a72353d1b8b4439427f7efa2c89caa03cc9f28f8cbab8ac",
    );
  });

  it("rejects an index that is not a non-negative integer", () => {
    expect(() => interopSecretKey(-1)).toThrow(RangeError);
    expect(() => interopSecretKey(1.5)).toThrow(RangeError);
  });
});
