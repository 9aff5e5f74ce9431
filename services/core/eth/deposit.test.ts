import { pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { SecretKey } from "@chainsafe/blst";
import { describe, expect, it } from "@jest/globals";
import { deriveSkFromPath, signingKeyPath, withdrawalKeyPath } from "../crypto/eip2333.js";
import { toBytes32 } from "../crypto/fr.js";
import { NektarError } from "../errors.js";
import { toHex } from "../hex.js";
import {
  blsWithdrawalCredentials,
  compoundingWithdrawalCredentials,
  depositDataEntry,
  type DepositDataEntry,
  type DepositDataProblem,
  depositMessage,
  depositSigningRoot,
  eth1WithdrawalCredentials,
  formatDepositData,
  parseExecutionAddress,
  verifyDepositData,
} from "./deposit.js";
import { customNetwork, HOLESKY, HOODI, MAINNET, type Network, SEPOLIA } from "./networks.js";

const ETH = 1_000_000_000;
const testdata = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8");
const MAINNET_BLS = "deposit_data-mainnet-staking-deposit-cli-2.3.0-bls.json";
const MAINNET_ETH1 = "deposit_data-mainnet-staking-deposit-cli-2.3.0-eth1.json";
const HOODI_EXECUTION = "deposit_data-hoodi-ethstaker-deposit-cli-1.2.2-execution.json";

function entries(name: string): DepositDataEntry[] {
  return JSON.parse(testdata(name)) as DepositDataEntry[];
}

/** [entry, field] of every problem, the shape most assertions below compare. */
function located(problems: DepositDataProblem[]): [number | undefined, string | undefined][] {
  return problems.map((p) => [p.entry, p.field]);
}

describe("deposit data made by the official deposit tools", () => {
  it("verifies, mainnet (0x00 and 0x01) and hoodi alike", () => {
    expect(verifyDepositData(entries(MAINNET_BLS))).toEqual([]);
    expect(verifyDepositData(entries(MAINNET_ETH1), { network: MAINNET })).toEqual([]);
    expect(verifyDepositData(entries(HOODI_EXECUTION), { network: HOODI })).toEqual([]);
  });

  it("is reproduced byte for byte from the same mnemonic (keys by EIP-2333, roots, BLS signatures, file text)", () => {
    // GridPlus/lattice-eth2-utils src/__test__/vectors.jsonc made both files with staking-deposit-cli
    // 2.3.0 from this mnemonic (no passphrase), validators 0..4.
    const mnemonic = "produce pool nurse odor pipe taxi next rebuild cram lamp bachelor power";
    const seed = pbkdf2Sync(mnemonic.normalize("NFKD"), "mnemonic", 2048, 64, "sha512");
    const secretKey = (path: string) => SecretKey.fromBytes(toBytes32(deriveSkFromPath(seed, path)));
    const regenerate = (credentials: (index: number) => Uint8Array) =>
      [0, 1, 2, 3, 4].map((index) => {
        const signer = secretKey(signingKeyPath(index));
        const message = depositMessage(signer.toPublicKey().toBytes(), credentials(index), 32 * ETH);
        const signature = signer.sign(depositSigningRoot(message, MAINNET.genesisForkVersion)).toBytes();
        return depositDataEntry({ message, signature, network: MAINNET, depositCliVersion: "2.3.0" });
      });

    const bls = regenerate((index) => blsWithdrawalCredentials(secretKey(withdrawalKeyPath(index)).toPublicKey().toBytes()));
    expect(formatDepositData(bls)).toBe(testdata(MAINNET_BLS).trimEnd());
    const eth1 = regenerate(() => eth1WithdrawalCredentials("0xDAFEA492D9c6733ae3d56b7Ed1ADB60692c98Bc5"));
    expect(formatDepositData(eth1)).toBe(testdata(MAINNET_ETH1).trimEnd());
  });
});

describe("tampering with one field of a real mainnet entry", () => {
  const original = entries(MAINNET_ETH1);
  const tampered = (changes: Partial<Record<keyof DepositDataEntry, unknown>>) =>
    verifyDepositData(original.map((entry, i) => (i === 2 ? { ...entry, ...changes } : entry)));
  const flipLastHexDigit = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");
  const other = original[3]!;

  it("pubkey: off the curve or subgroup, or another validator's key", () => {
    expect(located(tampered({ pubkey: flipLastHexDigit(original[2]!.pubkey) }))).toEqual([
      [2, "pubkey"],
      [2, "deposit_message_root"],
      [2, "deposit_data_root"],
    ]);
    const problems = tampered({ pubkey: other.pubkey });
    expect(located(problems)).toEqual([
      [2, "deposit_message_root"],
      [2, "deposit_data_root"],
      [2, "signature"],
    ]);
    expect(problems[2]!.message).toMatch(/^entry 2: signature does not verify for pubkey 0x/);
  });

  it("withdrawal_credentials: the signature was made over the original message", () => {
    const problems = tampered({ withdrawal_credentials: flipLastHexDigit(original[2]!.withdrawal_credentials) });
    expect(located(problems)).toEqual([
      [2, "deposit_message_root"],
      [2, "deposit_data_root"],
      [2, "signature"],
    ]);
    expect(problems[0]!.message).toMatch(
      new RegExp(
        `^entry 2: deposit_message_root 0x${original[2]!.deposit_message_root} does not match the root recomputed ` +
          "from pubkey, withdrawal_credentials and amount \\(0x[0-9a-f]{64}\\)$",
      ),
    );
    expect(problems[2]!.message).toBe(
      `entry 2: signature was made over deposit_message_root 0x${original[2]!.deposit_message_root}, not over this ` +
        "entry's message: withdrawal_credentials or amount changed after signing",
    );
  });

  it("amount: in range it breaks the roots and signature, out of range it is named too", () => {
    expect(located(tampered({ amount: 31 * ETH }))).toEqual([
      [2, "deposit_message_root"],
      [2, "deposit_data_root"],
      [2, "signature"],
    ]);
    const problems = tampered({ amount: 33 * ETH });
    expect(located(problems)).toEqual([
      [2, "amount"],
      [2, "deposit_message_root"],
      [2, "deposit_data_root"],
      [2, "signature"],
    ]);
    expect(problems[0]!.message).toBe(
      "entry 2: amount 33000000000 gwei exceeds 32 ETH, all a validator with 0x01 credentials can use; " +
        "use 0x02 (compounding) credentials for more",
    );
  });

  it("signature: not a curve point, or another entry's signature", () => {
    expect(located(tampered({ signature: flipLastHexDigit(original[2]!.signature) }))).toEqual([
      [2, "signature"],
      [2, "deposit_data_root"],
    ]);
    expect(located(tampered({ signature: other.signature }))).toEqual([
      [2, "deposit_data_root"],
      [2, "signature"],
    ]);
    const infinity = tampered({ signature: "c0" + "00".repeat(95) });
    expect(infinity[0]!.message).toBe(
      "entry 2: signature 0xc00000000000…00000000 is not a valid BLS12-381 signature (the point at infinity)",
    );
  });

  it("deposit_message_root and deposit_data_root: only the root itself", () => {
    const messageRoot = tampered({ deposit_message_root: other.deposit_message_root });
    expect(located(messageRoot)).toEqual([[2, "deposit_message_root"]]);
    const dataRoot = tampered({ deposit_data_root: other.deposit_data_root });
    expect(located(dataRoot)).toEqual([[2, "deposit_data_root"]]);
    expect(dataRoot[0]!.message).toBe(
      `entry 2: deposit_data_root 0x${other.deposit_data_root} does not match the recomputed root 0x${original[2]!.deposit_data_root}`,
    );
  });

  it("fork_version: not mainnet's, and the signature no longer verifies", () => {
    const problems = tampered({ fork_version: "10000910" });
    expect(located(problems)).toEqual([
      [2, "fork_version"],
      [2, "signature"],
    ]);
    expect(problems[0]!.message).toBe(
      "entry 2: fork_version 0x10000910 is not the genesis fork version of mainnet (0x00000000)",
    );
  });

  it("leaves the other entries alone and reports every tampered entry", () => {
    const twice = original.map((entry, i) =>
      i === 0 || i === 4 ? { ...entry, deposit_data_root: flipLastHexDigit(entry.deposit_data_root) } : entry,
    );
    expect(located(verifyDepositData(twice))).toEqual([
      [0, "deposit_data_root"],
      [4, "deposit_data_root"],
    ]);
  });
});

describe("malformed deposit data", () => {
  const entry = entries(MAINNET_BLS)[0]!;

  it("names the file-level problem", () => {
    expect(verifyDepositData({ pubkey: entry.pubkey })).toEqual([
      { message: "deposit data: expected a JSON array of deposit entries" },
    ]);
    expect(verifyDepositData([])).toEqual([{ message: "deposit data: the array has no entries" }]);
    expect(verifyDepositData([entry, "x"])).toEqual([
      { entry: 1, message: "entry 1: expected an object with the deposit fields" },
    ]);
  });

  it("names each malformed field once, and still checks the rest", () => {
    const { deposit_cli_version: _dropped, ...withoutVersion } = entry;
    const problems = verifyDepositData([
      { ...withoutVersion, pubkey: "0x" + entry.pubkey.slice(2), amount: "32000000000" },
    ]);
    expect(problems.map((p) => p.message)).toEqual([
      "entry 0: deposit_cli_version is missing",
      `entry 0: pubkey: expected 48 bytes as 96 hex characters without 0x prefix, got "0x5487e50af14…d0737e2"`,
      `entry 0: amount: expected a whole number of gwei, got "32000000000"`,
    ]);
  });

  it("rejects unknown credential types and non-zero padding", () => {
    const problems = verifyDepositData([
      { ...entry, withdrawal_credentials: "03" + entry.withdrawal_credentials.slice(2) },
      { ...entry, withdrawal_credentials: "01ff" + "00".repeat(10) + "dafea492d9c6733ae3d56b7ed1adb60692c98bc5" },
    ]);
    expect(problems.filter((p) => p.field === "withdrawal_credentials").map((p) => p.message)).toEqual([
      `entry 0: withdrawal_credentials 0x03${entry.withdrawal_credentials.slice(2)}: unknown prefix 0x03 (expected 0x00, 0x01 or 0x02)`,
      "entry 1: withdrawal_credentials 0x01ff00000000000000000000dafea492d9c6733ae3d56b7ed1adb60692c98bc5: bytes 1..11 must be zero after the 0x01 prefix",
    ]);
  });
});

describe("network consistency", () => {
  it("holds fork_version to the network network_name names", () => {
    const [entry] = entries(HOODI_EXECUTION);
    const problems = verifyDepositData([{ ...entry, network_name: "mainnet" }]);
    expect(problems.map((p) => p.message)).toEqual([
      "entry 0: fork_version 0x10000910 is not the genesis fork version of mainnet (0x00000000)",
    ]);
  });

  it("holds every entry to the network the caller expects", () => {
    const problems = verifyDepositData(entries(HOODI_EXECUTION), { network: MAINNET });
    expect(problems.map((p) => p.message)).toEqual([
      "entry 0: fork_version 0x10000910 is not the genesis fork version of mainnet (0x00000000), the network these deposits are for",
      'entry 0: network_name "hoodi" is not "mainnet", the network these deposits are for',
    ]);
  });
});

describe("deposit data nektar builds", () => {
  const devnet = customNetwork({ name: "nektar-devnet", genesisForkVersion: "0x10000042" });
  const address = "0x71c7656ec7ab88b098defb751b7401b5f6d8976f";

  function build(network: Network, credentials: Uint8Array, amount: number, key = SecretKey.fromKeygen(new Uint8Array(32).fill(7))) {
    const message = depositMessage(key.toPublicKey().toBytes(), credentials, amount);
    const signature = key.sign(depositSigningRoot(message, network.genesisForkVersion)).toBytes();
    return depositDataEntry({ message, signature, network });
  }

  it("verifies on mainnet, hoodi, holesky, sepolia and a custom network, for every credential type", () => {
    const withdrawalKey = SecretKey.fromKeygen(new Uint8Array(32).fill(9)).toPublicKey().toBytes();
    for (const network of [MAINNET, HOODI, HOLESKY, SEPOLIA, devnet]) {
      const file = [
        build(network, blsWithdrawalCredentials(withdrawalKey), 32 * ETH),
        build(network, eth1WithdrawalCredentials(address), 1 * ETH),
        build(network, compoundingWithdrawalCredentials(address), 2048 * ETH),
      ];
      const text = formatDepositData(file);
      expect([network.name, verifyDepositData(JSON.parse(text), { network })]).toEqual([network.name, []]);
      expect(file.map((e) => [e.fork_version, e.network_name, e.deposit_cli_version])).toEqual(
        Array(3).fill([toHex(network.genesisForkVersion).slice(2), network.name, "2.7.0"]),
      );
      // A deposit signed for one network is worthless on another.
      const elsewhere = network === MAINNET ? HOODI : MAINNET;
      const moved = file.map((e) => ({ ...e, fork_version: toHex(elsewhere.genesisForkVersion).slice(2), network_name: elsewhere.name }));
      expect(located(verifyDepositData(moved))).toEqual([
        [0, "signature"],
        [1, "signature"],
        [2, "signature"],
      ]);
    }
  });

  it("refuses to write an entry whose signature does not verify", () => {
    const message = depositMessage(SecretKey.fromKeygen(new Uint8Array(32).fill(1)).toPublicKey().toBytes(), eth1WithdrawalCredentials(address), 32 * ETH);
    const wrongKey = SecretKey.fromKeygen(new Uint8Array(32).fill(2));
    const signature = wrongKey.sign(depositSigningRoot(message, MAINNET.genesisForkVersion)).toBytes();
    expect(() => depositDataEntry({ message, signature, network: MAINNET })).toThrow(NektarError);
    expect(() => depositDataEntry({ message, signature, network: MAINNET })).toThrow(
      /^cannot build deposit data: signature does not verify for pubkey 0x/,
    );
    // Signed for hoodi, written as mainnet.
    const hoodiSignature = SecretKey.fromKeygen(new Uint8Array(32).fill(1)).sign(depositSigningRoot(message, HOODI.genesisForkVersion)).toBytes();
    expect(() => depositDataEntry({ message, signature: hoodiSignature, network: MAINNET })).toThrow(/signature does not verify/);
  });

  it("keeps amounts to what the credential type can use", () => {
    const pubkey = SecretKey.fromKeygen(new Uint8Array(32).fill(3)).toPublicKey().toBytes();
    expect(() => depositMessage(pubkey, eth1WithdrawalCredentials(address), 33 * ETH)).toThrow(
      "deposit message: amount 33000000000 gwei exceeds 32 ETH, all a validator with 0x01 credentials can use",
    );
    expect(() => depositMessage(pubkey, compoundingWithdrawalCredentials(address), 2049 * ETH)).toThrow(
      "deposit message: amount 2049000000000 gwei exceeds 2048 ETH, the largest effective balance (MAX_EFFECTIVE_BALANCE_ELECTRA)",
    );
    expect(() => depositMessage(pubkey, compoundingWithdrawalCredentials(address), ETH / 2)).toThrow(
      "deposit message: amount 500000000 gwei is below the minimum deposit of 1 ETH (1000000000 gwei)",
    );
    expect(depositMessage(pubkey, compoundingWithdrawalCredentials(address), 2048 * ETH).amount).toBe(2048 * ETH);
  });

  it("checks public keys and EIP-55 checksums of withdrawal addresses", () => {
    expect(() => depositMessage(new Uint8Array(48), eth1WithdrawalCredentials(address), 32 * ETH)).toThrow(
      /^deposit public key 0x000000000000…00000000 is not a valid BLS12-381 public key/,
    );
    expect(toHex(parseExecutionAddress("0xDAFEA492D9c6733ae3d56b7Ed1ADB60692c98Bc5"))).toBe(
      "0xdafea492d9c6733ae3d56b7ed1adb60692c98bc5",
    );
    expect(() => parseExecutionAddress("0xDAFEA492D9c6733ae3d56b7Ed1ADB60692c98bC5")).toThrow(
      "withdrawal address 0xDAFEA492D9c6733ae3d56b7Ed1ADB60692c98bC5: EIP-55 checksum mismatch (expected 0xDAFEA492D9c6733ae3d56b7Ed1ADB60692c98Bc5)",
    );
    expect(() => parseExecutionAddress("0xdafea492")).toThrow("withdrawal address: expected 20 bytes, got 4");
  });
});
