import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../../test/helpers/cli.js";

const dir = () => mkdtempSync(join(tmpdir(), "nektar-identity-cli-"));

describe("nektar identity", () => {
  it("creates a key file and shows the same peer id", async () => {
    const file = join(dir(), "identity.key");
    const created = await runCli(["identity", "create", "--out", file]);
    expect(created.code).toBe(0);
    const peerId = /peer id (16Uiu2\w+)/.exec(created.stdout)?.[1];
    expect(peerId).toBeDefined();
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const shown = await runCli(["identity", "show", file, "--json"]);
    expect(shown.code).toBe(0);
    const info = JSON.parse(shown.stdout) as { peerId: string; publicKey: string; enr: string };
    expect(info.peerId).toBe(peerId);
    expect(info.publicKey).toMatch(/^0x0[23][0-9a-f]{64}$/);
    expect(info.enr).toMatch(/^enr:/);
  });

  it("refuses to overwrite an existing key file", async () => {
    const file = join(dir(), "identity.key");
    writeFileSync(file, "keep me");
    const result = await runCli(["identity", "create", "--out", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`identity key file ${file} already exists; refusing to overwrite it`);
    expect(readFileSync(file, "utf8")).toBe("keep me");
  });

  it("shows the EIP-778 example key as its published ENR", async () => {
    const file = join(dir(), "charon-enr-private-key");
    writeFileSync(file, "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291");
    const result = await runCli(["identity", "show", file]);
    expect(result.stdout).toContain("peer id:    16Uiu2HAmSH2XVgZqYHWucap5kuPzLnt2TsNQkoppVxB5eJGvaXwm");
    expect(result.stdout).toContain("public key: 0x03ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138");
    const withAddress = await runCli(["identity", "show", file, "--ip", "10.0.0.1", "--tcp", "3610"]);
    expect(withAddress.stdout).toMatch(/enr: +enr:-/);
    const bad = await runCli(["identity", "show", file, "--ip", "op-1.svc"]);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('ENR ip: "op-1.svc" is not an IPv4 address') });
  });
});
