import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NektarError } from "../errors.js";
import { createIdentityFile, generateIdentity, identityFromSecret, readIdentityFile } from "./identity.js";

describe("operator identity", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-identity-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a key file readable by its owner only, and reads back the same peer id", async () => {
    const path = join(dir, "identity.key");
    const created = await createIdentityFile(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, "utf8"))).toMatch(/^0x[0-9a-f]{64}\n$/);
    const read = await readIdentityFile(path);
    expect(read.peerId.toString()).toBe(created.peerId.toString());
    expect(read.peerId.type).toBe("secp256k1");
    // No temporary file is left beside it.
    expect(await readdir(dir)).toEqual(["identity.key"]);
  });

  it("refuses to overwrite an existing file", async () => {
    const path = join(dir, "taken.key");
    await writeFile(path, "precious\n");
    await expect(createIdentityFile(path)).rejects.toThrow(/already exists; refusing to overwrite/);
    expect(await readFile(path, "utf8")).toBe("precious\n");
  });

  it("reads a Charon key file (bare hex) as the same identity", async () => {
    const identity = generateIdentity();
    const path = join(dir, "charon-enr-private-key");
    await writeFile(path, Buffer.from(identity.privateKey.raw).toString("hex"));
    expect((await readIdentityFile(path)).peerId.equals(identity.peerId)).toBe(true);
  });

  it("derives the peer id from the key: a known key gives a known id", () => {
    // The EIP-778 example key; Prysm (go-libp2p) and Lantern.Discv5 (C#) test for the same peer id.
    const secret = Buffer.from("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291", "hex");
    expect(identityFromSecret(secret, "key").peerId.toString()).toBe("16Uiu2HAmSH2XVgZqYHWucap5kuPzLnt2TsNQkoppVxB5eJGvaXwm");
  });

  it("rejects a malformed key file without quoting the secret", async () => {
    const path = join(dir, "bad.key");
    await writeFile(path, "0x1234deadbeefcafe");
    const err = await readIdentityFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NektarError);
    expect((err as Error).message).toMatch(/bad\.key: expected 32 bytes of hex/);
    expect((err as Error).message).not.toContain("deadbeef");

    await writeFile(path, "0x" + "00".repeat(32));
    await expect(readIdentityFile(path)).rejects.toThrow(/not a secp256k1 secret key/);
    await expect(readIdentityFile(join(dir, "missing.key"))).rejects.toThrow(/cannot read identity key file .*missing\.key/);
  });
});
