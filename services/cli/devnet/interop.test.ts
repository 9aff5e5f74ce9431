import { describe, expect, it } from "@jest/globals";
import { secretKeyFromScalar } from "../../core/crypto/bls.js";
import { toHex } from "../../core/hex.js";
import { interopSecret, parseIndexRange } from "./interop.js";

describe("interop validator keys", () => {
  it("match the public keys every client's dev mode gives its genesis validators", () => {
    // The interop spec's first keys (ethereum/eth2.0-pm interop/mocked_start, as Lodestar and Teku list them).
    const pubkey = (i: number) => toHex(secretKeyFromScalar(interopSecret(i)).toPublicKey().toBytes());
    expect(pubkey(0)).toBe("0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c");
    expect(pubkey(1)).toBe("0xb89bebc699769726a318c8e9971bd3171297c61aea4a6578a7a4f94b547dcba5bac16a89108b6b6a1fe3695d1a874a0b");
  });
});

describe("parseIndexRange", () => {
  it("reads an index or an inclusive range", () => {
    expect(parseIndexRange("6", "--x")).toEqual([6]);
    expect(parseIndexRange("6..8", "--x")).toEqual([6, 7, 8]);
  });

  it("names the option and the value it refuses", () => {
    expect(() => parseIndexRange("8..6", "--interop-validators")).toThrow("--interop-validators 8..6: expected an index or a range");
    expect(() => parseIndexRange("a", "--interop-validators")).toThrow("--interop-validators a:");
    expect(() => parseIndexRange("0..64", "--interop-validators")).toThrow(/at most 64/);
  });
});
