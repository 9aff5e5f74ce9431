import { describe, expect, it } from "@jest/globals";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decryptKeystore, readKeystoreFile } from "../../core/crypto/index.js";
import { runCli } from "../../../test/helpers/cli.js";

// The EIP-2335 pbkdf2 test keystore: a real keystore with a published password and secret.
const vector = JSON.parse(readFileSync("services/core/crypto/testdata/eip2335.json", "utf8")) as { password: string; secret: string };
const keystore = "services/core/crypto/testdata/eip2335-pbkdf2.json";

function workdir(): { dir: string; passwordFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "nektar-keys-"));
  const passwordFile = join(dir, "password.txt");
  writeFileSync(passwordFile, vector.password + "\n");
  return { dir, passwordFile };
}

async function split(dir: string, passwordFile: string, n: number, t: number, out = join(dir, "shares")) {
  const args = ["keys", "split", "--keystore", keystore, "--password-file", passwordFile];
  return runCli([...args, "--shares", String(n), "--threshold", String(t), "--out", out, "--kdf", "pbkdf2"]);
}

describe("nektar keys split / combine", () => {
  it("splits a keystore into N shares and combines any T of them back into the same key", async () => {
    const { dir, passwordFile } = workdir();
    const result = await split(dir, passwordFile, 4, 3);
    expect(result.code).toBe(0);
    const sharesDir = join(dir, "shares");
    expect(readdirSync(sharesDir).sort()).toEqual(["public-shares.json", "share-1.json", "share-2.json", "share-3.json", "share-4.json"]);

    rmSync(join(sharesDir, `share-${1 + Math.floor(Math.random() * 4)}.json`));
    const out = join(dir, "recovered.json");
    const combined = await runCli(["keys", "combine", "--shares", sharesDir, "--out", out, "--password-file", passwordFile]);
    expect(combined).toMatchObject({ code: 0, stderr: "" });
    const secret = await decryptKeystore(await readKeystoreFile(out), vector.password);
    expect("0x" + Buffer.from(secret).toString("hex")).toBe(vector.secret);
  });

  it("refuses fewer than T shares", async () => {
    const { dir, passwordFile } = workdir();
    await split(dir, passwordFile, 4, 3);
    for (const id of [1, 2]) rmSync(join(dir, "shares", `share-${id}.json`));
    const result = await runCli(["keys", "combine", "--shares", join(dir, "shares"), "--out", join(dir, "k.json"), "--password-file", passwordFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("2 share keystores found, the threshold is 3");
  });

  it("refuses a share of another key", async () => {
    const { dir, passwordFile } = workdir();
    await split(dir, passwordFile, 4, 3, join(dir, "a"));
    await split(dir, passwordFile, 4, 3, join(dir, "b"));
    rmSync(join(dir, "a", "share-4.json"));
    copyFileSync(join(dir, "b", "share-4.json"), join(dir, "a", "share-4.json"));
    const result = await runCli(["keys", "combine", "--shares", join(dir, "a"), "--out", join(dir, "k.json"), "--password-file", passwordFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/share-4\.json: its public key 0x[0-9a-f]+ is not a share of validator/);
  });

  it("refuses to write into a non-empty folder or over an existing key, and names a wrong password's file", async () => {
    const { dir, passwordFile } = workdir();
    writeFileSync(join(dir, "shares-x"), "");
    expect((await split(dir, passwordFile, 4, 3, dir)).stderr).toContain("is not empty");
    await split(dir, passwordFile, 4, 3);
    const exists = await runCli(["keys", "combine", "--shares", join(dir, "shares"), "--out", passwordFile, "--password-file", passwordFile]);
    expect(exists.stderr).toContain("exists already");
    const wrong = join(dir, "wrong.txt");
    writeFileSync(wrong, "not it");
    const bad = await runCli(["keys", "combine", "--shares", join(dir, "shares"), "--out", join(dir, "k.json"), "--password-file", wrong]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/share-1\.json: .*checksum/);
  });

  it("rejects a threshold above the share count and writes nothing", async () => {
    const { dir, passwordFile } = workdir();
    const result = await split(dir, passwordFile, 4, 5);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("threshold 5");
    expect(readdirSync(dir)).toEqual(["password.txt"]);
  });
});
