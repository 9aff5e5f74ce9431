import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../../test/helpers/cli.js";

const mainnet = "services/core/eth/testdata/deposit_data-mainnet-staking-deposit-cli-2.3.0-eth1.json";

function tampered(field: string, edit: (value: unknown) => unknown): string {
  const entries = JSON.parse(readFileSync(mainnet, "utf8")) as Record<string, unknown>[];
  entries[3]![field] = edit(entries[3]![field]);
  const file = join(mkdtempSync(join(tmpdir(), "nektar-deposit-")), "deposit_data.json");
  writeFileSync(file, JSON.stringify(entries));
  return file;
}

const flipLastHexDigit = (v: unknown) => String(v).slice(0, -1) + (String(v).endsWith("0") ? "1" : "0");

describe("nektar deposit verify", () => {
  it("accepts a mainnet deposit_data.json made by staking-deposit-cli", async () => {
    const result = await runCli(["deposit", "verify", mainnet, "--network", "mainnet"]);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining("5 valid deposits (mainnet)") });
  });

  it.each([
    ["withdrawal_credentials", flipLastHexDigit],
    ["amount", (v: unknown) => Number(v) - 1_000_000_000],
    ["signature", flipLastHexDigit],
    ["deposit_message_root", flipLastHexDigit],
    ["deposit_data_root", flipLastHexDigit],
    ["fork_version", () => "00000001"],
  ])("fails naming the entry when %s is tampered with", async (field, edit) => {
    const result = await runCli(["deposit", "verify", tampered(field, edit)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`entry 3: .*${field}`));
    expect(result.stderr).not.toMatch(/entry [0-24]:/);
  });

  it("names the file when it is not JSON", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "nektar-deposit-")), "broken.json");
    writeFileSync(file, "[{");
    const result = await runCli(["deposit", "verify", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: not valid JSON`);
  });

  it("rejects an unknown network name", async () => {
    const result = await runCli(["deposit", "verify", mainnet, "--network", "nonet"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nonet/);
  });
});
