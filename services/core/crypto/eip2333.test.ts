import { readFileSync } from "node:fs";
import { SecretKey } from "@chainsafe/blst";
import { describe, expect, it } from "@jest/globals";
import { fromHex, toHex } from "../hex.js";
import {
  deriveChildSk,
  deriveMasterSk,
  deriveSkFromPath,
  hkdfModR,
  ikmToLamportSk,
  parentSkToLamportPk,
  parsePath,
  signingKeyPath,
  withdrawalKeyPath,
} from "./eip2333.js";
import { FR_ORDER, fromBytesBE, toBytes32 } from "./fr.js";

interface Eip2333Case {
  seed: string;
  master_SK: string;
  child_index: number;
  child_SK: string;
}
interface Eip2333Vectors {
  cases: Eip2333Case[];
  intermediate: Eip2333Case & {
    lamport_0_first: string;
    lamport_0_last: string;
    lamport_1_first: string;
    lamport_1_last: string;
    compressed_lamport_PK: string;
  };
}
const vectors = JSON.parse(
  readFileSync(new URL("./testdata/eip2333.json", import.meta.url), "utf8"),
) as Eip2333Vectors;

const blstSk = (sk: SecretKey): bigint => fromBytesBE(sk.toBytes());

describe("EIP-2333 published test cases", () => {
  it.each(vectors.cases.map((c, i) => [i, c] as const))("case %i", (_, c) => {
    const seed = fromHex(c.seed, "seed");
    const master = deriveMasterSk(seed);
    expect(master).toBe(BigInt(c.master_SK));
    expect(deriveChildSk(master, c.child_index)).toBe(BigInt(c.child_SK));
  });

  it("intermediate values: Lamport keys and compressed Lamport public key", () => {
    const v = vectors.intermediate;
    const master = deriveMasterSk(fromHex(v.seed, "seed"));
    expect(master).toBe(BigInt(v.master_SK));

    const salt = new Uint8Array(4); // I2OSP(child_index = 0, 4)
    const ikm = toBytes32(master);
    const lamport0 = ikmToLamportSk(ikm, salt);
    const lamport1 = ikmToLamportSk(ikm.map((b) => ~b & 0xff), salt);
    expect(lamport0).toHaveLength(255);
    expect(toHex(lamport0[0]!)).toBe(v.lamport_0_first);
    expect(toHex(lamport0[254]!)).toBe(v.lamport_0_last);
    expect(toHex(lamport1[0]!)).toBe(v.lamport_1_first);
    expect(toHex(lamport1[254]!)).toBe(v.lamport_1_last);

    const compressed = parentSkToLamportPk(master, v.child_index);
    expect(toHex(compressed)).toBe(v.compressed_lamport_PK);
    expect(hkdfModR(compressed)).toBe(BigInt(v.child_SK));
  });
});

describe("EIP-2333 against blst's implementation", () => {
  it("agrees on master and child keys for the published seeds and edge indices", () => {
    for (const c of vectors.cases) {
      const seed = fromHex(c.seed, "seed");
      const master = deriveMasterSk(seed);
      const blstMaster = SecretKey.deriveMasterEip2333(seed);
      expect(master).toBe(blstSk(blstMaster));
      for (const index of [0, 1, 12381, 2 ** 31, 2 ** 32 - 1]) {
        expect(deriveChildSk(master, index)).toBe(blstSk(blstMaster.deriveChildEip2333(index)));
      }
    }
  });

  it("agrees along a full validator signing-key path from a random seed", () => {
    const seed = crypto.getRandomValues(new Uint8Array(64));
    const path = signingKeyPath(7);
    const expected = parsePath(path).reduce((sk, i) => sk.deriveChildEip2333(i), SecretKey.deriveMasterEip2333(seed));
    const sk = deriveSkFromPath(seed, path);
    expect(sk).toBe(blstSk(expected));
    expect(sk > 0n && sk < FR_ORDER).toBe(true);
  });
});

describe("hkdfModR", () => {
  it("is KeyGen of the BLS signature draft, key_info included", () => {
    const ikm = crypto.getRandomValues(new Uint8Array(32));
    const keyInfo = new TextEncoder().encode("nektar");
    expect(hkdfModR(ikm)).toBe(blstSk(SecretKey.fromKeygen(ikm)));
    expect(hkdfModR(ikm, keyInfo)).toBe(blstSk(SecretKey.fromKeygen(ikm, keyInfo)));
    expect(hkdfModR(ikm, keyInfo)).not.toBe(hkdfModR(ikm));
  });
});

describe("deriveMasterSk / deriveChildSk input checks", () => {
  it("rejects seeds shorter than 256 bits", () => {
    expect(() => deriveMasterSk(new Uint8Array(31))).toThrow("EIP-2333 seed: must be at least 32 bytes, got 31");
  });

  it.each([-1, 2 ** 32, 1.5, Number.NaN])("rejects child index %p", (index) => {
    expect(() => deriveChildSk(1n, index)).toThrow("outside 0..2^32-1");
  });
});

describe("EIP-2334 paths", () => {
  it("names validator signing and withdrawal keys", () => {
    expect(signingKeyPath(5)).toBe("m/12381/3600/5/0/0");
    expect(withdrawalKeyPath(5)).toBe("m/12381/3600/5/0");
    expect(parsePath(signingKeyPath(5))).toEqual([12381, 3600, 5, 0, 0]);
  });

  it("places the signing key one level below the withdrawal key", () => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    expect(deriveChildSk(deriveSkFromPath(seed, withdrawalKeyPath(3)), 0)).toBe(deriveSkFromPath(seed, signingKeyPath(3)));
  });

  it("parses the bare root and the spaced form EIP-2334 writes", () => {
    expect(parsePath("m")).toEqual([]);
    expect(parsePath("m / 12381 / 60 / 0 / 0")).toEqual([12381, 60, 0, 0]);
    expect(parsePath("m/4294967295")).toEqual([2 ** 32 - 1]);
  });

  it.each([
    ["", "must start with 'm'"],
    ["12381/3600/0", "must start with 'm'"],
    ["M/1", "must start with 'm'"],
    ["m/", "'' is not a decimal index"],
    ["m/12381//0", "'' is not a decimal index"],
    ["m/0x10", "'0x10' is not a decimal index"],
    ["m/-1", "'-1' is not a decimal index"],
    ["m/1'", "'1'' is not a decimal index"],
    ["m/4294967296", "outside 0..2^32-1"],
  ])("rejects %p", (path, message) => {
    expect(() => parsePath(path)).toThrow(`key path '${path}'`);
    expect(() => parsePath(path)).toThrow(message);
  });
});
