import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../../test/helpers/cli.js";

async function identities(dir: string, n: number): Promise<{ key: string; peerId: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const key = join(dir, `op-${i}.key`);
    const { stdout } = await runCli(["identity", "create", "--out", key]);
    out.push({ key, peerId: /peer id (\S+)/.exec(stdout)![1]! });
  }
  return out;
}

const createArgs = (operators: string, out: string) => [
  "cluster",
  "create",
  "--name",
  "demo",
  "--operators",
  operators,
  "--network",
  "hoodi",
  "--validators",
  "2",
  "--withdrawal-address",
  "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
  "--fee-recipient",
  "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
  "--out",
  out,
];

describe("nektar cluster", () => {
  it("creates a definition, every operator signs it, and then it verifies", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nektar-cluster-cli-"));
    const ids = await identities(dir, 4);
    const operators = join(dir, "operators.json");
    writeFileSync(
      operators,
      JSON.stringify(ids.map((id, i) => ({ name: `op-${i}`, address: `0x${String(i + 1).padStart(40, "0")}`, peerId: id.peerId, multiaddrs: [`/dns4/op-${i}.nektar.svc/tcp/3610`] }))),
    );
    const definition = join(dir, "cluster-definition.json");

    const created = await runCli(createArgs(operators, definition));
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/4 operators, threshold 3, config hash 0x[0-9a-f]{64}/);
    const hash = /config hash (0x[0-9a-f]{64})/.exec(created.stdout)![1]!;
    expect(JSON.parse(readFileSync(definition, "utf8"))).toMatchObject({ forkVersion: "0x10000910", numValidators: 2, threshold: 3 });

    const early = await runCli(["cluster", "verify", definition]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("not yet signed by op-0, op-1, op-2, op-3");

    for (const [i, id] of ids.entries()) {
      const signed = await runCli(["cluster", "sign", definition, "--identity", id.key]);
      expect(signed.code).toBe(0);
      expect(signed.stdout).toContain(i === 3 ? "every operator has signed" : `still to sign: ${ids.slice(i + 1).map((_, j) => `op-${i + 1 + j}`).join(", ")}`);
    }
    const verified = await runCli(["cluster", "verify", definition]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(`"demo", 4 operators, threshold 3, 2 validators, network hoodi (0x10000910)`);
    expect(verified.stdout).toContain(`config hash ${hash}`);

    // An edit after signing breaks every signature, and verify names the first.
    const def = JSON.parse(readFileSync(definition, "utf8")) as { numValidators: number };
    writeFileSync(definition, JSON.stringify({ ...def, numValidators: 3 }));
    const tampered = await runCli(["cluster", "verify", definition]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain("operators/0/signature: not op-0's signature of this definition");
  });

  it("names what is wrong with the operators file and the options", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nektar-cluster-cli-"));
    const [id] = await identities(dir, 1);
    const operators = join(dir, "operators.json");
    writeFileSync(operators, JSON.stringify([{ name: "op-0", address: "0x01", peerId: id!.peerId, multiaddrs: ["/ip4/10.0.0.1/tcp/3610"] }]));
    const result = await runCli(createArgs(operators, join(dir, "def.json")));
    expect(result).toMatchObject({ code: 1, stderr: expect.stringContaining(`${operators}: 0/address: Expected string to match`) });

    writeFileSync(operators, JSON.stringify([{ name: "op-0", address: `0x${"1".repeat(40)}`, peerId: id!.peerId, multiaddrs: ["/ip4/10.0.0.1/tcp/3610"] }]));
    const noNetwork = await runCli(createArgs(operators, join(dir, "def.json")).filter((a) => a !== "--network" && a !== "hoodi"));
    expect(noNetwork).toMatchObject({ code: 1, stderr: expect.stringContaining("give either --network or --fork-version") });
    const badNetwork = await runCli(createArgs(operators, join(dir, "def.json")).map((a) => (a === "hoodi" ? "nonet" : a)));
    expect(badNetwork).toMatchObject({ code: 1, stderr: expect.stringContaining("nonet") });

    const stranger = join(dir, "stranger.key");
    await runCli(["identity", "create", "--out", stranger]);
    const definition = join(dir, "def.json");
    expect((await runCli(createArgs(operators, definition))).code).toBe(0);
    const signed = await runCli(["cluster", "sign", definition, "--identity", stranger]);
    expect(signed).toMatchObject({ code: 1, stderr: expect.stringContaining('is not an operator of cluster definition "demo"') });
  });
});
