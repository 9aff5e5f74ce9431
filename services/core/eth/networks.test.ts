import { describe, expect, it } from "@jest/globals";
import { NektarError } from "../errors.js";
import { fromHex, toHex } from "../hex.js";
import {
  customNetwork,
  forkAtEpoch,
  ForkName,
  HOLESKY,
  HOODI,
  MAINNET,
  networkByGenesisForkVersion,
  networkByName,
  NETWORKS,
  SEPOLIA,
} from "./networks.js";

describe("known networks", () => {
  it("agree with a second source on genesis time, genesis fork version and Fulu's first slot", () => {
    // Commit-Boost/commit-boost-client crates/common/src/types.rs (KnownChain): independent of
    // the Lodestar and deposit-cli tables networks.ts was copied from.
    const commitBoost = {
      mainnet: { genesisTime: 1606824023, genesisForkVersion: "0x00000000", fuluSlot: 13164544 },
      holesky: { genesisTime: 1695902400, genesisForkVersion: "0x01017000", fuluSlot: 5283840 },
      sepolia: { genesisTime: 1655733600, genesisForkVersion: "0x90000069", fuluSlot: 8724480 },
      hoodi: { genesisTime: 1742213400, genesisForkVersion: "0x10000910", fuluSlot: 1622016 },
    };
    for (const [name, expected] of Object.entries(commitBoost)) {
      const network = networkByName(name);
      const fulu = network.forks.find((f) => f.name === ForkName.fulu)!;
      expect({
        name,
        genesisTime: network.genesisTime,
        genesisForkVersion: toHex(network.genesisForkVersion),
        fuluSlot: fulu.epoch * 32,
      }).toEqual({ name, ...expected });
    }
  });

  it("schedule every fork from phase0 to Fulu in order", () => {
    const order = [ForkName.phase0, ForkName.altair, ForkName.bellatrix, ForkName.capella, ForkName.deneb, ForkName.electra, ForkName.fulu];
    for (const network of Object.values(NETWORKS)) {
      expect(network.forks.map((f) => f.name)).toEqual(order);
      expect(network.forks[0]!.epoch).toBe(0);
      for (let i = 1; i < network.forks.length; i++) {
        expect(network.forks[i]!.epoch).toBeGreaterThanOrEqual(network.forks[i - 1]!.epoch);
      }
      expect(network.genesisValidatorsRoot).toHaveLength(32);
    }
  });

  it("find the fork in force at an epoch, the last of several activated together", () => {
    expect(forkAtEpoch(MAINNET, 0).name).toBe(ForkName.phase0);
    expect(forkAtEpoch(MAINNET, 411391).name).toBe(ForkName.electra);
    expect(forkAtEpoch(MAINNET, 411392).name).toBe(ForkName.fulu);
    expect(toHex(forkAtEpoch(MAINNET, 10_000_000).version)).toBe("0x06000000");
    // Hoodi started at Deneb: altair..deneb all activate at epoch 0.
    expect(forkAtEpoch(HOODI, 0).name).toBe(ForkName.deneb);
    expect(forkAtEpoch(HOLESKY, 255).name).toBe(ForkName.bellatrix);
    expect(forkAtEpoch(SEPOLIA, 50).name).toBe(ForkName.altair);
  });

  it("are found by name and by genesis fork version", () => {
    expect(networkByName("hoodi")).toBe(HOODI);
    expect(networkByGenesisForkVersion(fromHex("0x90000069", "v"))).toBe(SEPOLIA);
    expect(networkByGenesisForkVersion(fromHex("0x12345678", "v"))).toBeUndefined();
    expect(() => networkByName("goerli")).toThrow(NektarError);
    expect(() => networkByName("goerli")).toThrow('unknown network "goerli": known networks are mainnet, hoodi, holesky, sepolia');
  });
});

describe("custom networks", () => {
  it("need only a name and a genesis fork version, and take a fork schedule", () => {
    const devnet = customNetwork({
      name: "devnet-7",
      genesisForkVersion: "0x10000007",
      genesisValidatorsRoot: "0x" + "ab".repeat(32),
      forks: [
        { name: ForkName.capella, version: "0x40000007", epoch: 0 },
        { name: ForkName.electra, version: "0x60000007", epoch: 10 },
      ],
    });
    expect(toHex(devnet.genesisForkVersion)).toBe("0x10000007");
    expect(devnet.genesisValidatorsRoot).toHaveLength(32);
    expect(forkAtEpoch(devnet, 9).name).toBe(ForkName.capella);
    expect(toHex(forkAtEpoch(devnet, 10).version)).toBe("0x60000007");
    expect(customNetwork({ name: "bare", genesisForkVersion: "0x10000008" }).genesisValidatorsRoot).toBeUndefined();
  });

  it("reject what would be mistaken or malformed, naming the input", () => {
    expect(() => customNetwork({ name: "mainnet", genesisForkVersion: "0x10000007" })).toThrow(
      'custom network name "mainnet" is a known network\'s name',
    );
    expect(() => customNetwork({ name: "d", genesisForkVersion: "0x100007" })).toThrow(
      "network d: genesis fork version: expected 4 bytes, got 3",
    );
    expect(() =>
      customNetwork({
        name: "d",
        genesisForkVersion: "0x10000007",
        forks: [
          { name: ForkName.electra, version: "0x60000007", epoch: 10 },
          { name: ForkName.fulu, version: "0x70000007", epoch: 5 },
        ],
      }),
    ).toThrow("network d: fork fulu at epoch 5 precedes electra at epoch 10");
  });
});
