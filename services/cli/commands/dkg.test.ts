/**
 * `nektar dkg` and `nektar reshare` over real libp2p on 127.0.0.1: operator op-0 runs the command,
 * the others run the same service in this process (the command captures this process's stdout and
 * stderr, so only one operator can be the command at a time).
 */
import { describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verify } from "@chainsafe/blst";
import { EIP2335_PBKDF2, decryptKeystore, fromBytesBE, parsePublicKey, readKeystoreFile, recoverSignature, signPartial } from "../../core/crypto/index.js";
import { fromHex } from "../../core/hex.js";
import { type ClusterDefinition, writeDefinitionFile } from "../../core/p2p/definition.js";
import { type Identity, createIdentityFile, generateIdentity } from "../../core/p2p/identity.js";
import { freePorts } from "../../core/p2p/testing.js";
import { type ClusterLock, readLockFile } from "../../core/cluster/lock.js";
import { testDefinition } from "../../dkg/testing.js";
import { runDkg } from "../../dkg/wire.js";
import { runCli } from "../../../test/helpers/cli.js";

const PASSWORD = "correct horse battery staple";

interface Setup {
  dir: string;
  identities: Identity[];
  identityFile: string;
  definitionFile: string;
  definition: ClusterDefinition;
  passwordFile: string;
  out: (i: number) => string;
}

/** n operators on free loopback ports; op-0's identity and the definition as files. */
async function setup(n: number, numValidators: number, keep: Identity[] = []): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), "nektar-dkg-"));
  const identityFile = join(dir, "op-0.key");
  const first = keep[0] ?? (await createIdentityFile(identityFile));
  if (keep[0] !== undefined) writeFileSync(identityFile, Buffer.from(keep[0].privateKey.raw).toString("hex") + "\n", { mode: 0o600 });
  const identities = [first, ...Array.from({ length: n - 1 }, (_, i) => keep[i + 1] ?? generateIdentity())];
  const definition = await testDefinition(identities, { numValidators, ports: await freePorts(n) });
  const definitionFile = join(dir, "definition.json");
  await writeDefinitionFile(definitionFile, definition, { overwrite: false });
  const passwordFile = join(dir, "password.txt");
  writeFileSync(passwordFile, PASSWORD + "\n");
  return { dir, identities, identityFile, definitionFile, definition, passwordFile, out: (i) => join(dir, `out-${i}`) };
}

/** Operators 1.. run the service itself, op-0 the command with `args`. */
async function run(s: Setup, args: string[], others: (i: number) => Partial<Parameters<typeof runDkg>[0]> = () => ({}), skip: number[] = []) {
  const service = s.identities.slice(1).map((identity, j) =>
    skip.includes(j + 1)
      ? Promise.resolve(undefined)
      : runDkg({ definition: s.definition, identity, outDir: s.out(j + 1), password: PASSWORD, kdf: EIP2335_PBKDF2, ...others(j + 1) }).catch((err: Error) => err),
  );
  const [cli, ...rest] = await Promise.all([runCli(args), ...service]);
  return { cli: cli!, others: rest };
}

/** The share of validator v in operator i's keystore. */
async function share(s: Setup, i: number, v: number): Promise<{ id: number; value: bigint }> {
  const keystore = await readKeystoreFile(join(s.out(i), "validator_keys", `keystore-${v}.json`));
  return { id: i + 1, value: fromBytesBE(await decryptKeystore(keystore, PASSWORD)) };
}

function signs(lock: ClusterLock, v: number, shares: { id: number; value: bigint }[]): boolean {
  const message = randomBytes(32);
  const signature = recoverSignature(
    shares.map((sh) => signPartial(sh, message)),
    shares.length,
  );
  return verify(message, parsePublicKey(fromHex(lock.validators[v]!.pubkey, "pubkey"), "pubkey"), signature);
}

describe("nektar dkg / reshare", () => {
  it("generates keystores, a signed lock and deposit data that `nektar deposit verify` accepts; reshares to a new operator", async () => {
    const s = await setup(4, 2);
    const { cli, others } = await run(s, ["dkg", "--definition", s.definitionFile, "--identity", s.identityFile, "--out", s.out(0), "--password-file", s.passwordFile, "--kdf", "pbkdf2"]);
    expect(others.filter((o) => o instanceof Error)).toEqual([]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^DKG complete: 2 validators, threshold 3 of 4, this operator holds share 1; lock hash 0x[0-9a-f]{64}; written to /);
    expect(cli.stderr).toContain("DKG: waiting for the other operators: 3/3 ready\n");
    expect(cli.stderr).toContain("DKG: lock: 2/2 validators done\n");

    expect(readdirSync(s.out(0)).sort()).toEqual(["cluster-lock.json", "deposit_data.json", "validator_keys"]);
    expect(readdirSync(join(s.out(0), "validator_keys")).sort()).toEqual(["keystore-0.json", "keystore-1.json"]);
    expect(statSync(join(s.out(0), "validator_keys", "keystore-0.json")).mode & 0o777).toBe(0o600);
    const lock = await readLockFile(join(s.out(0), "cluster-lock.json"));
    for (const i of [1, 2, 3]) expect(readFileSync(join(s.out(i), "cluster-lock.json"), "utf8")).toBe(readFileSync(join(s.out(0), "cluster-lock.json"), "utf8"));

    const verified = await runCli(["deposit", "verify", join(s.out(0), "deposit_data.json"), "--network", "hoodi"]);
    expect(verified).toMatchObject({ code: 0, stderr: "" });
    expect(verified.stdout).toContain("2 valid deposits (hoodi)");

    for (let v = 0; v < 2; v++) {
      expect(signs(lock, v, [await share(s, 0, v), await share(s, 2, v), await share(s, 3, v)])).toBe(true);
    }

    // Replace op-1 by a newcomer; op-0 reshares through the command, with its keystores.
    const r = await setup(4, 2, [s.identities[0]!, generateIdentity(), s.identities[2]!, s.identities[3]!]);
    const lockFile = join(s.out(0), "cluster-lock.json");
    const reshared = await run(
      r,
      ["reshare", "--lock", lockFile, "--definition", r.definitionFile, "--identity", r.identityFile, "--out", r.out(0), "--keys", join(s.out(0), "validator_keys"), "--password-file", s.passwordFile, "--kdf", "pbkdf2"],
      (i) => ({ reshare: { lock, keysDir: i === 1 ? undefined : join(s.out(i), "validator_keys"), keysPassword: PASSWORD } }),
    );
    expect(reshared.others.filter((o) => o instanceof Error)).toEqual([]);
    expect(reshared.cli.code).toBe(0);
    expect(reshared.cli.stdout).toMatch(/^resharing complete: 2 validators, threshold 3 of 4/);
    expect(reshared.cli.stdout).toContain("every operator of the previous lock must now delete its old keystores");
    const newLock = await readLockFile(join(r.out(0), "cluster-lock.json"));
    expect(newLock.validators.map((v) => v.pubkey)).toEqual(lock.validators.map((v) => v.pubkey));
    for (let v = 0; v < 2; v++) {
      expect(signs(newLock, v, [await share(r, 0, v), await share(r, 1, v), await share(r, 3, v)])).toBe(true);
    }
  }, 120_000);

  it("fails naming the operator that never came, and leaves no output folder", async () => {
    const s = await setup(4, 1);
    const timeouts = { connectMs: 3_000, phaseMs: 3_000 };
    const { cli, others } = await run(
      s,
      ["dkg", "--definition", s.definitionFile, "--identity", s.identityFile, "--out", s.out(0), "--password-file", s.passwordFile, "--timeout", "3"],
      () => ({ timeouts }),
      [2],
    );
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/nektar: DKG failed \(connect\): not every operator is up and running this ceremony; no answer from op-2 within 3 s\n$/);
    expect(others[0]).toBeInstanceOf(Error);
    expect(readdirSync(s.dir).filter((f) => f.startsWith("out-") || f.startsWith(".out-"))).toEqual([]);
  }, 60_000);

  it("refuses an output folder that is not empty before starting", async () => {
    const s = await setup(2, 1);
    writeFileSync(join(s.dir, "occupied"), "");
    const cli = await runCli(["dkg", "--definition", s.definitionFile, "--identity", s.identityFile, "--out", s.dir, "--password-file", s.passwordFile]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe(`nektar: output folder ${s.dir} is not empty: choose a new folder\n`);
  });
});
