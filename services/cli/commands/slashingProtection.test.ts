import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSlashingProtection, SlashingProtectionError } from "../../signer/slashingProtection/index.js";
import { runCli } from "../../../test/helpers/cli.js";

const GVR = "0x" + "04".repeat(32);
const PUBKEY_A = "0x" + "a1".repeat(48);
const PUBKEY_B = "0x" + "b2".repeat(48);
const ROOT = "0x" + "0d".repeat(32);

const interchange = {
  metadata: { interchange_format_version: "5", genesis_validators_root: GVR },
  data: [
    { pubkey: PUBKEY_A, signed_blocks: [{ slot: "81", signing_root: ROOT }], signed_attestations: [{ source_epoch: "1", target_epoch: "2", signing_root: ROOT }] },
    { pubkey: PUBKEY_B, signed_blocks: [], signed_attestations: [{ source_epoch: "7", target_epoch: "9" }] },
  ],
};

function workdir(): { dir: string; file: string; dataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), "nektar-sp-cli-"));
  const file = join(dir, "interchange.json");
  writeFileSync(file, JSON.stringify(interchange));
  return { dir, file, dataDir: join(dir, "data") };
}

describe("nektar slashing-protection import / export", () => {
  it("imports an interchange file that the node then honours, and exports it back", async () => {
    const { dir, file, dataDir } = workdir();
    const imported = await runCli(["slashing-protection", "import", "--data-dir", dataDir, "--file", file, "--genesis-validators-root", GVR]);
    expect(imported).toMatchObject({ code: 0, stderr: "" });
    expect(imported.stdout).toContain("imported 1 blocks and 2 attestations of 2 validators");

    const store = await FileSlashingProtection.open(dataDir);
    const a = Buffer.from(PUBKEY_A.slice(2), "hex");
    await expect(store.checkAndInsertBlockProposal(a, { slot: 81, signingRoot: new Uint8Array(32) })).rejects.toBeInstanceOf(SlashingProtectionError);
    await store.checkAndInsertAttestation(a, { sourceEpoch: 2, targetEpoch: 3, signingRoot: new Uint8Array(32).fill(1) });
    await store.close();

    const out = join(dir, "export.json");
    const exported = await runCli(["slashing-protection", "export", "--data-dir", dataDir, "--out", out, "--pubkey", PUBKEY_A]);
    expect(exported).toMatchObject({ code: 0, stderr: "" });
    const written = JSON.parse(readFileSync(out, "utf8")) as typeof interchange;
    expect(written.metadata).toEqual(interchange.metadata);
    expect(written.data).toEqual([
      {
        pubkey: PUBKEY_A,
        signed_blocks: [{ slot: "81", signing_root: ROOT }],
        signed_attestations: [
          { source_epoch: "1", target_epoch: "2", signing_root: ROOT },
          { source_epoch: "2", target_epoch: "3", signing_root: "0x" + "01".repeat(32) },
        ],
      },
    ]);
    const all = join(dir, "all.json");
    expect((await runCli(["slashing-protection", "export", "--data-dir", dataDir, "--out", all])).stdout).toContain("exported 2 validators");
  });

  it("rejects another network's file and a malformed one, naming the field, and writes nothing", async () => {
    const { dir, file, dataDir } = workdir();
    const wrong = await runCli(["slashing-protection", "import", "--data-dir", dataDir, "--file", file, "--genesis-validators-root", "0x" + "05".repeat(32)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`genesis_validators_root ${GVR} is not this store's network`);

    const bad = join(dir, "bad.json");
    const malformed = structuredClone(interchange) as { data: { signed_attestations: Record<string, unknown>[] }[] };
    malformed.data[1]!.signed_attestations[0]!.target_epoch = 9;
    writeFileSync(bad, JSON.stringify(malformed));
    const rejected = await runCli(["slashing-protection", "import", "--data-dir", join(dir, "fresh"), "--file", bad, "--genesis-validators-root", GVR]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain("data/1/signed_attestations/0/target_epoch");

    const out = join(dir, "out.json");
    const empty = await runCli(["slashing-protection", "export", "--data-dir", join(dir, "fresh"), "--out", out]);
    expect(empty.stderr).toContain("no slashing protection history there");
  });

  it("refuses to run beside a node that holds the store", async () => {
    const { file, dataDir } = workdir();
    await runCli(["slashing-protection", "import", "--data-dir", dataDir, "--file", file, "--genesis-validators-root", GVR]);
    const node = await FileSlashingProtection.open(dataDir);
    try {
      const again = await runCli(["slashing-protection", "import", "--data-dir", dataDir, "--file", file, "--genesis-validators-root", GVR]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("already open");
    } finally {
      await node.close();
    }
  });
});
