import { SecretKey } from "@chainsafe/blst";
import { describe, expect, it } from "@jest/globals";
import { NektarError } from "../errors.js";
import { fromHex, toHex } from "../hex.js";
import {
  computeBuilderDomain,
  computeDepositDomain,
  computeDomain,
  computeDomainAtEpoch,
  computeSigningRoot,
  computeVoluntaryExitDomain,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_VOLUNTARY_EXIT,
} from "./domains.js";
import { customNetwork, HOLESKY, HOODI, MAINNET, NETWORKS, SEPOLIA } from "./networks.js";
import { ssz } from "./types.js";

describe("compute_domain against domains other tools publish", () => {
  it("gives the mainnet deposit domain every deposit tool hard-codes", () => {
    // staking-deposit-cli, the deposit contract's tests and Lighthouse's get_deposit_domain use it.
    expect(toHex(computeDepositDomain(MAINNET.genesisForkVersion))).toBe(
      "0x03000000f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9",
    );
  });

  it("gives the builder domain of each network as Commit-Boost hard-codes it", () => {
    // Commit-Boost/commit-boost-client, crates/common/src/types.rs, KnownChain::builder_domain.
    const published = {
      mainnet: "0x00000001f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9",
      holesky: "0x000000015b83a23759c560b2d0c64576e1dcfc34ea94c4988f3e0d9f77f05387",
      sepolia: "0x00000001d3010778cd08ee514b08fe67b6c503b510987a4ce43f42306d97c67c",
      hoodi: "0x00000001719103511efa4f1362ff2a50996cccf329cc84cb410c5e5c7d351d03",
    };
    for (const [name, domain] of Object.entries(published)) {
      expect([name, toHex(computeBuilderDomain(NETWORKS[name as keyof typeof published].genesisForkVersion))]).toEqual([
        name,
        domain,
      ]);
    }
  });

  it("gives mainnet's Bellatrix proposer domain as MEV relays' TestComputeDomain does", () => {
    // flashbots go-boost-utils users, TestComputeDomain "domainBeaconProposer": 0x02000000 + mainnet root.
    const expected = "0x000000004a26c58b08add8089b75caa540848881a8d4f0af0be83417a85c0f45";
    expect(toHex(computeDomain(DOMAIN_BEACON_PROPOSER, fromHex("0x02000000", "v"), MAINNET.genesisValidatorsRoot!))).toBe(
      expected,
    );
    // ... and computeDomainAtEpoch picks that version for any epoch of mainnet's Bellatrix.
    expect(toHex(computeDomainAtEpoch(MAINNET, DOMAIN_BEACON_PROPOSER, 144896))).toBe(expected);
    expect(toHex(computeDomainAtEpoch(MAINNET, DOMAIN_BEACON_PROPOSER, 194047))).toBe(expected);
    expect(toHex(computeDomainAtEpoch(MAINNET, DOMAIN_BEACON_PROPOSER, 194048))).not.toBe(expected);
  });

  it("rejects inputs of the wrong length, naming them", () => {
    expect(() => computeDomain(new Uint8Array(3), new Uint8Array(4), new Uint8Array(32))).toThrow(
      "domain type: expected 4 bytes, got 3",
    );
    expect(() => computeDomain(DOMAIN_BEACON_ATTESTER, new Uint8Array(4), new Uint8Array(31))).toThrow(
      "genesis validators root: expected 32 bytes, got 31",
    );
  });
});

describe("signing roots", () => {
  it("reproduces ethdo's pre-signed mainnet exit (EIP-7044 Capella domain) byte for byte", () => {
    // ChorusOne/eth-staking-smith tests/e2e/presigned_exit_message.rs: `ethdo validator exit
    // --epoch 305658 --offline` for validator 100 with this key, exit_fork_version 0x03000000.
    const sk = SecretKey.fromBytes(fromHex("0x6d446ca271eb229044b9039354ecdfa6244d1a11615ec1a46fc82a800367de5d", "sk", 32));
    expect(toHex(sk.toPublicKey().toBytes())).toBe(
      "0x8844cebb34d10e0e57f3c29ada375dafe14762ab85b2e408c3d6d55ce6d03317660bca9f2c2d17d8fbe14a2529ada1ea",
    );
    const root = computeSigningRoot(
      ssz.phase0.VoluntaryExit,
      { epoch: 305658, validatorIndex: 100 },
      computeVoluntaryExitDomain(MAINNET),
    );
    expect(toHex(sk.sign(root).toBytes())).toBe(
      "0xa74f22d26da9934c2a9c783799fb9e7bef49b3d7c3759a0683b52ee5d71516c0ecdbcc47703f11959c5e701a6c47194410bed800217bd4dd0dab1e0587b14551771accd04ff1c78302f9605f44c3894976c5b3537b70cb7ac9dcb5398dc22079",
    );
  });

  it("signs exits of every network with its Capella version, whatever the current fork", () => {
    for (const network of [MAINNET, HOODI, HOLESKY, SEPOLIA]) {
      const capella = network.forks.find((f) => f.name === "capella")!;
      const fulu = network.forks.find((f) => f.name === "fulu")!;
      const exitDomain = computeVoluntaryExitDomain(network);
      expect(toHex(exitDomain)).toBe(toHex(computeDomain(DOMAIN_VOLUNTARY_EXIT, capella.version, network.genesisValidatorsRoot!)));
      expect(toHex(exitDomain)).not.toBe(toHex(computeDomainAtEpoch(network, DOMAIN_VOLUNTARY_EXIT, fulu.epoch)));
    }
  });

  it("asks for the genesis validators root a custom network lacks", () => {
    const devnet = customNetwork({ name: "devnet", genesisForkVersion: "0x10000001" });
    expect(() => computeDomainAtEpoch(devnet, DOMAIN_BEACON_ATTESTER, 0)).toThrow(NektarError);
    expect(() => computeDomainAtEpoch(devnet, DOMAIN_BEACON_ATTESTER, 0)).toThrow(
      "network devnet has no genesis validators root",
    );
    expect(() => computeVoluntaryExitDomain(devnet)).toThrow("network devnet has no capella fork scheduled");
  });
});
