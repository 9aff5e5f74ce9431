import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secretKeyFromScalar } from "../core/crypto/index.js";
import type { Duty, Unsigned } from "./duty/index.js";
import { PartialSigner, SigningRefused } from "./signer.js";
import { FileSlashingProtection } from "./slashingProtection/index.js";

const pubkey = secretKeyFromScalar(99n).toPublicKey().toBytes();
const attester = (slot: number): Duty => ({ id: { type: "attester", slot, validator: 0 }, pubkey, validatorIndex: 0 });
const vote = (source: number, target: number, fill: number): Unsigned => ({
  value: undefined,
  bytes: new Uint8Array(0),
  signingRoot: new Uint8Array(32).fill(fill),
  slashing: { kind: "attestation", sourceEpoch: source, targetEpoch: target },
});
const syncMessage = (fill: number): Unsigned => ({ value: undefined, bytes: new Uint8Array(0), signingRoot: new Uint8Array(32).fill(fill) });

describe("the partial signer", () => {
  let dir: string;
  let protection: FileSlashingProtection;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-signer-"));
    protection = await FileSlashingProtection.open(dir);
  });
  afterEach(async () => {
    await protection.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("signs one root per duty, again if asked again, never a second one", async () => {
    const signer = new PartialSigner([5n], protection);
    const duty: Duty = { id: { type: "sync_message", slot: 3, validator: 0 }, pubkey, validatorIndex: 0 };
    const first = await signer.sign(duty, syncMessage(1));
    expect(await signer.sign(duty, syncMessage(1))).toEqual(first);
    await expect(signer.sign(duty, syncMessage(2))).rejects.toMatchObject({ reason: "conflicting_data" });
  });

  it("refuses what slashing protection refuses, and remembers it across a restart", async () => {
    const signer = new PartialSigner([5n], protection);
    await signer.sign(attester(8), vote(1, 2, 1));
    await expect(signer.sign(attester(9), vote(0, 3, 2))).rejects.toBeInstanceOf(SigningRefused); // surrounds (1, 2)
    await protection.close();
    protection = await FileSlashingProtection.open(dir);
    const restarted = new PartialSigner([5n], protection);
    await expect(restarted.sign(attester(8), vote(1, 2, 3))).rejects.toMatchObject({ reason: "slashing_protection" }); // double vote
    await expect(restarted.sign(attester(8), vote(1, 2, 1))).resolves.toBeInstanceOf(Uint8Array); // what it signed
  });

  it("a refused root does not claim the duty", async () => {
    const signer = new PartialSigner([5n], protection);
    await signer.sign(attester(8), vote(1, 2, 1));
    await expect(signer.sign(attester(16), vote(0, 4, 2))).rejects.toMatchObject({ reason: "slashing_protection" });
    await expect(signer.sign(attester(16), vote(2, 4, 3))).resolves.toBeInstanceOf(Uint8Array);
  });
});
