/**
 * Cross-check against independent implementations: the Python reference (py_ecc for BLS, eth2spec
 * for SSZ roots) must agree with nektar on signatures, threshold-recovered signatures, deposit
 * roots and EIP-2333 keys. Inputs are random per run, so this is not a replay of fixed vectors.
 */
import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  deriveSkFromPath,
  parsePath,
  randomScalar,
  recoverSignature,
  secretKeyFromScalar,
  signPartial,
  splitSecret,
} from "../../services/core/crypto/index.js";
import { networkByName } from "../../services/core/eth/networks.js";
import {
  type DepositDataEntry,
  depositDataEntry,
  depositMessage,
  depositSigningRoot,
  eth1WithdrawalCredentials,
} from "../../services/core/eth/deposit.js";
import { ssz } from "../../services/core/eth/types.js";
import { fromHex, toHex } from "../../services/core/hex.js";

const python = process.env.NEKTAR_PYTHON;

function askReference(request: unknown): Record<string, unknown[]> {
  if (!python) throw new Error("NEKTAR_PYTHON is not set: run `npm run test:system` (it provisions the Python oracles)");
  const out = execFileSync(python, [new URL("./reference.py", import.meta.url).pathname], {
    input: JSON.stringify(request),
    maxBuffer: 1 << 26,
  });
  return JSON.parse(out.toString()) as Record<string, unknown[]>;
}

function randomSubset<T>(items: readonly T[], size: number): T[] {
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = randomBytes(1)[0]! % (i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, size);
}

describe("agreement with the Python reference implementations", () => {
  // One signature case per (n, t), plus plain signatures of random lengths.
  const plain = Array.from({ length: 3 }, (_, i) => ({ secret: randomScalar(), message: randomBytes(i * 40) }));
  const threshold = [
    [4, 3],
    [7, 5],
    [16, 11],
  ].map(([n, t]) => {
    const secret = randomScalar();
    const message = randomBytes(32);
    const { shares } = splitSecret(secret, n!, t!);
    const partials = randomSubset(shares, t!).map((share) => signPartial(share, message));
    return { secret, message, partials, recovered: recoverSignature(partials, t!) };
  });
  const depositFiles = ["mainnet-staking-deposit-cli-2.3.0-eth1", "hoodi-ethstaker-deposit-cli-1.2.2-execution"];
  const published = depositFiles.flatMap(
    (name) => JSON.parse(readFileSync(`services/core/eth/testdata/deposit_data-${name}.json`, "utf8")) as DepositDataEntry[],
  );
  const generated = ["mainnet", "hoodi", "sepolia"].map((name) => {
    const network = networkByName(name);
    const sk = secretKeyFromScalar(randomScalar());
    const message = depositMessage(
      sk.toPublicKey().toBytes(),
      eth1WithdrawalCredentials("0x" + randomBytes(20).toString("hex")),
      32_000_000_000,
    );
    const signature = sk.sign(depositSigningRoot(message, network.genesisForkVersion)).toBytes();
    return depositDataEntry({ message, signature, network });
  });
  const deposits = [...published, ...generated];
  const derivations = ["m/12381/3600/0/0/0", "m/12381/3600/7/0", "m/0"].map((path) => ({ seed: randomBytes(32), path }));

  const answer = askReference({
    signatures: [...plain, ...threshold].map(({ secret, message }) => ({
      secretKey: secret.toString(16),
      message: toHex(message),
    })),
    recovered: threshold.map(({ partials }) => ({
      partials: partials.map((p) => ({ id: p.id, signature: toHex(p.signature.toBytes()) })),
    })),
    deposits,
    eip2333: derivations.map(({ seed, path }) => ({ seed: toHex(seed), path: parsePath(path) })),
  });

  it("signs and derives public keys like py_ecc", () => {
    const ours = [...plain, ...threshold].map(({ secret, message }) => {
      const sk = secretKeyFromScalar(secret);
      return { pubkey: toHex(sk.toPublicKey().toBytes()), signature: toHex(sk.sign(message).toBytes()) };
    });
    expect(answer.signatures).toEqual(ours);
  });

  it("recovers threshold signatures that py_ecc's Lagrange interpolation and whole-key signing agree with", () => {
    const ours = threshold.map(({ recovered }) => toHex(recovered.toBytes()));
    expect(answer.recovered).toEqual(ours);
    const wholeKey = (answer.signatures as { signature: string }[]).slice(plain.length).map((s) => s.signature);
    expect(ours).toEqual(wholeKey);
  });

  it("computes deposit roots and signing roots like eth2spec", () => {
    const ours = deposits.map((entry) => {
      const message = depositMessage(
        fromHex(entry.pubkey, "pubkey", 48),
        fromHex(entry.withdrawal_credentials, "withdrawal_credentials", 32),
        entry.amount,
      );
      const data = { ...message, signature: fromHex(entry.signature, "signature", 96) };
      return {
        deposit_message_root: toHex(ssz.phase0.DepositMessage.hashTreeRoot(message)),
        deposit_data_root: toHex(ssz.phase0.DepositData.hashTreeRoot(data)),
        signing_root: toHex(depositSigningRoot(message, fromHex(entry.fork_version, "fork_version", 4))),
        signature_valid: true,
      };
    });
    expect(answer.deposits).toEqual(ours);
    expect(ours.map((o) => o.deposit_data_root)).toEqual(deposits.map((d) => "0x" + d.deposit_data_root));
  });

  it("derives EIP-2333 keys like py_ecc's KeyGen with the EIP's Lamport step", () => {
    const ours = derivations.map(({ seed, path }) => "0x" + deriveSkFromPath(seed, path).toString(16));
    expect(answer.eip2333).toEqual(ours);
    expect(new Set(ours).size).toBe(ours.length);
  });
});
