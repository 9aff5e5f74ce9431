import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SecretKey } from "@chainsafe/blst";
import * as chainsafeKeystore from "@chainsafe/bls-keystore";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { NektarError } from "../errors.js";
import { fromHex, toHex } from "../hex.js";
import { FR_ORDER, randomScalar, toBytes32 } from "./fr.js";
import {
  EIP2335_PBKDF2,
  EIP2335_SCRYPT,
  type KdfParams,
  type Keystore,
  KeystoreChecksumError,
  decryptKeystore,
  encryptKeystore,
  normalizePassword,
  parseKeystore,
  readKeystoreFile,
  readPasswordFile,
  writeKeystoreFile,
} from "./keystore.js";

const testdata = (name: string) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));
const vectors = JSON.parse(readFileSync(testdata("eip2335.json"), "utf8")) as {
  password: string;
  encoded_password: string;
  secret: string;
  keystores: string[];
};

// Cheap parameters so roundtrips take milliseconds; the EIP's own cost is exercised by the vectors.
const CHEAP_SCRYPT: KdfParams = { function: "scrypt", n: 1024, r: 8, p: 1 };
const CHEAP_PBKDF2: KdfParams = { function: "pbkdf2", c: 1000 };

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

const randomSecret = () => toBytes32(randomScalar());
const clone = (keystore: Keystore) => structuredClone(keystore) as Keystore & Record<string, unknown>;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nektar-keystore-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("EIP-2335 published test vectors", () => {
  // Each runs the EIP's full-cost KDF once (scrypt n=2^18: about a second).
  it.each(vectors.keystores)("%s decrypts to the published secret", async (name) => {
    const keystore = await readKeystoreFile(testdata(name));
    const secret = await decryptKeystore(keystore, vectors.password, name);
    expect(toHex(secret)).toBe(vectors.secret);
  });

  it("normalizes the published password to the published encoding", () => {
    expect(toHex(normalizePassword(vectors.password))).toBe(vectors.encoded_password);
  });
});

describe("normalizePassword", () => {
  const utf8 = (s: string) => new TextEncoder().encode(s);

  it("strips C0, Delete and C1 control codes", () => {
    const c0 = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join("");
    const c1 = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(0x80 + i)).join("");
    expect(normalizePassword(`te${c0}st${"\u007f"}pass${c1}word`)).toEqual(utf8("testpassword"));
  });

  it("keeps space and the characters just outside the control ranges", () => {
    expect(normalizePassword(" a b ")).toEqual(utf8(" a b "));
    expect(normalizePassword("~\u00a0")).toEqual(utf8("~ ")); // NBSP is NFKD-compatible with space
    expect(normalizePassword("\u00a1")).toEqual(utf8("\u00a1"));
  });

  it("applies NFKD: compatibility forms fold, accents decompose", () => {
    expect(normalizePassword("\ufb01\uff21")).toEqual(utf8("fiA")); // ligature fi, fullwidth A
    expect(normalizePassword("\u00e9")).toEqual(Uint8Array.of(0x65, 0xcc, 0x81)); // é -> e + U+0301
    expect(normalizePassword("e\u0301")).toEqual(normalizePassword("\u00e9"));
  });
});

describe("encryptKeystore / decryptKeystore", () => {
  it.each([
    ["scrypt", CHEAP_SCRYPT],
    ["pbkdf2", CHEAP_PBKDF2],
  ] as const)("roundtrips with %s, recording the key's public key and the options", async (_, kdf) => {
    const secret = randomSecret();
    const keystore = await encryptKeystore(secret, "correct horse", {
      kdf,
      path: "m/12381/3600/2/0/0",
      description: "validator 2",
    });

    expect(parseKeystore(keystore)).toBe(keystore);
    expect(keystore.version).toBe(4);
    expect(keystore.path).toBe("m/12381/3600/2/0/0");
    expect(keystore.description).toBe("validator 2");
    expect(keystore.pubkey).toBe(toHex(SecretKey.fromBytes(secret).toPublicKey().toBytes()).slice(2));
    expect(keystore.crypto.kdf.function).toBe(kdf.function);
    const { function: _function, ...params } = kdf;
    expect(keystore.crypto.kdf.params).toMatchObject({ ...params, dklen: 32 });
    expect(fromHex(keystore.crypto.kdf.params.salt, "salt")).toHaveLength(32);

    expect(await decryptKeystore(keystore, "correct horse")).toEqual(secret);
  });

  it("defaults to the EIP's scrypt parameters", async () => {
    const keystore = await encryptKeystore(randomSecret(), "pw");
    expect(keystore.crypto.kdf).toMatchObject({ function: "scrypt", params: { n: 262144, r: 8, p: 1, dklen: 32 } });
    expect(EIP2335_SCRYPT).toEqual({ function: "scrypt", n: 262144, r: 8, p: 1 });
    expect(EIP2335_PBKDF2).toEqual({ function: "pbkdf2", c: 262144 });
  });

  it("draws a fresh salt, IV and UUID for every keystore", async () => {
    const secret = randomSecret();
    const [a, b] = await Promise.all([1, 2].map(() => encryptKeystore(secret, "pw", { kdf: CHEAP_SCRYPT })));
    expect(a!.crypto.kdf.params.salt).not.toBe(b!.crypto.kdf.params.salt);
    expect(a!.crypto.cipher.params.iv).not.toBe(b!.crypto.cipher.params.iv);
    expect(a!.crypto.cipher.message).not.toBe(b!.crypto.cipher.message);
    expect(a!.uuid).not.toBe(b!.uuid);
  });

  it("decrypts with any password that normalizes the same way", async () => {
    const secret = randomSecret();
    const keystore = await encryptKeystore(secret, vectors.password, { kdf: CHEAP_SCRYPT });
    expect(await decryptKeystore(keystore, "test\u0000password\u007f🔑\n")).toEqual(secret);
  });

  it("decrypts a keystore without pubkey (the field is optional)", async () => {
    const secret = randomSecret();
    const keystore = clone(await encryptKeystore(secret, "pw", { kdf: CHEAP_PBKDF2 }));
    delete keystore.pubkey;
    expect(await decryptKeystore(parseKeystore(keystore), "pw")).toEqual(secret);
  });

  it("rejects secrets that are not BLS secret keys and paths that are not EIP-2334", async () => {
    for (const bad of [new Uint8Array(32), toBytes32(FR_ORDER), new Uint8Array(31).fill(1)]) {
      await expect(encryptKeystore(bad, "pw", { kdf: CHEAP_SCRYPT })).rejects.toThrow(
        "secret key to encrypt: not a BLS12-381 secret key",
      );
    }
    await expect(encryptKeystore(randomSecret(), "pw", { kdf: CHEAP_SCRYPT, path: "m/x" })).rejects.toThrow(
      "key path 'm/x'",
    );
  });

  it("rejects scrypt options OpenSSL would refuse", async () => {
    await expect(
      encryptKeystore(randomSecret(), "pw", { kdf: { function: "scrypt", n: 1000, r: 8, p: 1 } }),
    ).rejects.toThrow("keystore KDF options: crypto.kdf.params.n: scrypt needs a power of 2 above 1, got 1000");
  });
});

describe("decryptKeystore failures", () => {
  let secret: Uint8Array;
  let keystore: Keystore;
  beforeAll(async () => {
    secret = randomSecret();
    keystore = await encryptKeystore(secret, "right", { kdf: CHEAP_SCRYPT });
  });

  const flipFirstNibble = (hex: string) => (hex[0] === "0" ? "1" : "0") + hex.slice(1);

  it("wrong password: a KeystoreChecksumError naming the keystore", async () => {
    const failure = decryptKeystore(keystore, "wrong", "share-3.json");
    await expect(failure).rejects.toBeInstanceOf(KeystoreChecksumError);
    await expect(failure).rejects.toBeInstanceOf(NektarError);
    await expect(failure).rejects.toThrow(
      "share-3.json: checksum does not match: wrong password, or the keystore is corrupted",
    );
  });

  it.each([
    ["checksum", (k: Keystore) => (k.crypto.checksum.message = flipFirstNibble(k.crypto.checksum.message))],
    ["cipher message", (k: Keystore) => (k.crypto.cipher.message = flipFirstNibble(k.crypto.cipher.message))],
    ["kdf salt", (k: Keystore) => (k.crypto.kdf.params.salt = flipFirstNibble(k.crypto.kdf.params.salt))],
  ])("tampered %s: KeystoreChecksumError", async (_, tamper) => {
    const tampered = clone(keystore);
    tamper(tampered);
    await expect(decryptKeystore(tampered, "right")).rejects.toBeInstanceOf(KeystoreChecksumError);
  });

  it("tampered IV (not covered by the checksum): caught by the pubkey check", async () => {
    const tampered = clone(keystore);
    tampered.crypto.cipher.params.iv = flipFirstNibble(tampered.crypto.cipher.params.iv);
    await expect(decryptKeystore(tampered, "right")).rejects.toThrow(/public key 0x[0-9a-f]{96} is not the keystore's pubkey|not a BLS12-381 secret key/);
  });

  it("pubkey of another key: names both keys", async () => {
    const other = clone(keystore);
    const otherPubkey = SecretKey.fromBytes(randomSecret()).toPublicKey().toBytes();
    other.pubkey = toHex(otherPubkey).slice(2);
    await expect(decryptKeystore(other, "right")).rejects.toThrow(
      `the decrypted secret key's public key 0x${keystore.pubkey} is not the keystore's pubkey ${toHex(otherPubkey)}`,
    );
  });
});

describe("parseKeystore names what is wrong", () => {
  let valid: Keystore;
  beforeAll(async () => {
    valid = await encryptKeystore(randomSecret(), "pw", { kdf: CHEAP_SCRYPT });
  });

  type Edit = (k: Keystore & Record<string, unknown>) => void;
  // Whole messages, so a test fails if the field is named wrong or the message loses its point.
  const cases: [string, Edit, string | RegExp][] = [
    ["missing crypto", (k) => delete (k as Partial<Keystore>).crypto, "crypto: missing"],
    ["missing path", (k) => delete (k as Partial<Keystore>).path, "path: missing"],
    ["wrong version", (k) => (k.version = 3 as 4), "version: expected 4, got 3"],
    ["version as string", (k) => (k.version = "4" as unknown as 4), 'version: expected 4, got "4"'],
    ["bad uuid", (k) => (k.uuid = "nope"), 'uuid: expected a UUID, got "nope"'],
    ["short pubkey", (k) => (k.pubkey = "abcd"), 'pubkey: expected 48 bytes of hex without 0x, got "abcd"'],
    [
      "unknown kdf",
      (k) => ((k.crypto.kdf as { function: string }).function = "argon2id"),
      `crypto.kdf.function: expected one of 'scrypt', 'pbkdf2', got "argon2id"`,
    ],
    [
      "kdf not an object",
      (k) => ((k.crypto as { kdf: unknown }).kdf = "scrypt"),
      'crypto.kdf: expected object, got "scrypt"',
    ],
    [
      "scrypt n as string",
      (k) => ((k.crypto.kdf.params as { n: unknown }).n = "1024"),
      'crypto.kdf.params.n: expected integer, got "1024"',
    ],
    [
      "scrypt n not a power of 2",
      (k) => ((k.crypto.kdf.params as { n: number }).n = 1000),
      "crypto.kdf.params.n: scrypt needs a power of 2 above 1, got 1000",
    ],
    [
      "scrypt too costly",
      (k) => ((k.crypto.kdf.params as { n: number }).n = 2 ** 21),
      "crypto.kdf.params: scrypt with n=2097152, r=8, p=1 needs 2048 MiB, more than the 1024 MiB allowed",
    ],
    [
      "dklen too short",
      (k) => (k.crypto.kdf.params.dklen = 16),
      "crypto.kdf.params.dklen: expected integer to be greater or equal to 32, got 16",
    ],
    [
      "pbkdf2 with another prf",
      (k) => (k.crypto.kdf = { function: "pbkdf2", params: { dklen: 32, c: 10, prf: "hmac-sha512" as "hmac-sha256", salt: "" }, message: "" }),
      `crypto.kdf.params.prf: expected 'hmac-sha256', got "hmac-sha512"`,
    ],
    [
      "0x-prefixed checksum",
      (k) => (k.crypto.checksum.message = `0x${k.crypto.checksum.message.slice(2)}`),
      /^crypto\.checksum\.message: expected 32 bytes of hex without 0x, got "0x[0-9a-f]+…$/,
    ],
    [
      "missing iv",
      (k) => delete (k.crypto.cipher.params as Partial<Keystore["crypto"]["cipher"]["params"]>).iv,
      "crypto.cipher.params.iv: missing",
    ],
    [
      "unknown cipher",
      (k) => ((k.crypto.cipher as { function: string }).function = "aes-256-gcm"),
      `crypto.cipher.function: expected 'aes-128-ctr', got "aes-256-gcm"`,
    ],
  ];

  it.each(cases)("%s", (_, edit, message) => {
    const keystore = clone(valid);
    edit(keystore);
    const error = thrown(() => parseKeystore(keystore, "share-1.json"));
    expect(error).toBeInstanceOf(NektarError);
    const [prefix, rest] = [error.message.slice(0, 14), error.message.slice(14)];
    expect(prefix).toBe("share-1.json: ");
    if (typeof message === "string") expect(rest).toBe(message);
    else expect(rest).toMatch(message);
  });

  it("not an object at all", () => {
    expect(() => parseKeystore([], "k.json")).toThrow("k.json: expected object, got []");
    expect(() => parseKeystore(null, "k.json")).toThrow("k.json: expected object, got null");
  });

  it("ignores fields it does not know, as other clients' keystores carry some", () => {
    const keystore = { ...clone(valid), name: "validator 0" };
    expect(parseKeystore(keystore)).toBe(keystore);
  });
});

describe("interoperability with ChainSafe's bls-keystore (Lodestar's implementation)", () => {
  it("opens our keystores, and we open its keystores", async () => {
    const secret = randomSecret();
    // Composed and decomposed ä, a fraktur letter and a control code: both must normalize alike.
    const [password, samePassword] = ["p\u00e4ss\u{1d534}ord", "pa\u0308sswo\u0007rd"];
    const ours = await encryptKeystore(secret, password, { kdf: CHEAP_SCRYPT });
    // Its type wants what ours has at runtime (a pubkey, an empty kdf message) but types loosely.
    expect(await chainsafeKeystore.decrypt(ours as chainsafeKeystore.IKeystore, samePassword)).toEqual(secret);

    const pubkey = SecretKey.fromBytes(secret).toPublicKey().toBytes();
    const theirs = await chainsafeKeystore.create(password, secret, pubkey, "m/12381/3600/0/0/0", "", {
      function: "pbkdf2",
      params: { dklen: 32, c: 1000, prf: "hmac-sha256", salt: toHex(randomSecret()).slice(2) },
    });
    expect(await decryptKeystore(parseKeystore(JSON.parse(JSON.stringify(theirs))), samePassword)).toEqual(secret);
  });
});

describe("keystore files", () => {
  it("writes atomically with mode 0600 and reads back the same keystore", async () => {
    const keystore = await encryptKeystore(randomSecret(), "pw", { kdf: CHEAP_PBKDF2 });
    const own = await mkdtemp(join(dir, "atomic-"));
    const file = join(own, "keystore-0.json");
    await writeKeystoreFile(file, keystore);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readKeystoreFile(file)).toEqual(keystore);

    const replacement = await encryptKeystore(randomSecret(), "pw", { kdf: CHEAP_PBKDF2 });
    await writeKeystoreFile(file, replacement);
    expect(await readKeystoreFile(file)).toEqual(replacement);
    expect(await readdir(own)).toEqual(["keystore-0.json"]); // no temp file left behind
  });

  it("refuses to write an invalid keystore, leaving nothing behind", async () => {
    const keystore = clone(await encryptKeystore(randomSecret(), "pw", { kdf: CHEAP_PBKDF2 }));
    keystore.uuid = "x";
    const file = join(dir, "invalid.json");
    await expect(writeKeystoreFile(file, keystore)).rejects.toThrow(`keystore for ${file}: uuid: expected a UUID`);
    await expect(stat(file)).rejects.toThrow("ENOENT");
  });

  it("reports a file that cannot be written", async () => {
    const keystore = await encryptKeystore(randomSecret(), "pw", { kdf: CHEAP_PBKDF2 });
    const file = join(dir, "no-such-dir", "k.json");
    await expect(writeKeystoreFile(file, keystore)).rejects.toThrow(`cannot write keystore file ${file}`);
  });

  it("names the file when it is missing, not JSON, or not a keystore", async () => {
    const missing = join(dir, "missing.json");
    await expect(readKeystoreFile(missing)).rejects.toThrow(`keystore file ${missing} does not exist`);

    const garbage = join(dir, "garbage.json");
    await writeFile(garbage, "{ not json");
    await expect(readKeystoreFile(garbage)).rejects.toThrow(`keystore file ${garbage}: not valid JSON`);

    const wrong = join(dir, "wrong.json");
    await writeFile(wrong, JSON.stringify({ version: 4 }));
    await expect(readKeystoreFile(wrong)).rejects.toThrow(`keystore file ${wrong}: crypto: missing`);
  });
});

describe("readPasswordFile", () => {
  const passwordFile = async (name: string, content: string) => {
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  };

  it("drops exactly one trailing newline", async () => {
    expect(await readPasswordFile(await passwordFile("a", "secret\n"))).toBe("secret");
    expect(await readPasswordFile(await passwordFile("b", "secret\r\n"))).toBe("secret");
    expect(await readPasswordFile(await passwordFile("c", "secret"))).toBe("secret");
    expect(await readPasswordFile(await passwordFile("d", "secret\n\n"))).toBe("secret\n");
    expect(await readPasswordFile(await passwordFile("e", " sp ace \n"))).toBe(" sp ace ");
  });

  it("rejects an empty file and one with nothing but newlines and control codes", async () => {
    for (const [name, content] of [["empty", ""], ["newline", "\n"], ["controls", "\t\r\n\n"]] as const) {
      const file = await passwordFile(name, content);
      await expect(readPasswordFile(file)).rejects.toThrow(`password file ${file}: is empty`);
    }
  });

  it("names a missing file", async () => {
    const file = join(dir, "no-password.txt");
    await expect(readPasswordFile(file)).rejects.toThrow(`password file ${file} does not exist`);
  });

  it("reads the password that opens a keystore written beside it", async () => {
    const secret = randomSecret();
    const file = await passwordFile("pw.txt", "hunter2\n");
    const keystore = await encryptKeystore(secret, await readPasswordFile(file), { kdf: CHEAP_SCRYPT });
    expect(await decryptKeystore(keystore, await readFile(file, "utf8"))).toEqual(secret); // control codes strip the newline too
  });
});
