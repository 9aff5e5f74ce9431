/**
 * EIP-2335 keystores (version 4): a BLS12-381 secret key encrypted under a password, as the
 * staking-deposit-cli writes them and every consensus client imports them.
 *
 * KDF cost is a parameter of the file: `encryptKeystore` defaults to the EIP's scrypt
 * (n = 2^18, ~1 s and 256 MiB per key), a DKG writing one keystore per share of many validators
 * passes cheaper parameters explicitly, and `decryptKeystore` honours whatever the file says.
 */
import { createCipheriv, pbkdf2, randomBytes, randomUUID, scrypt, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../store/files.js";
import { SecretKey } from "@chainsafe/blst";
import { sha256 } from "@noble/hashes/sha2.js";
import { type Static, Type } from "@sinclair/typebox";
import { type ValueError, Value, ValueErrorType } from "@sinclair/typebox/value";
import { NektarError } from "../errors.js";
import { FR_ORDER, fromBytesBE } from "./fr.js";
import { parsePath } from "./eip2333.js";

// --- The format, defined once: the TS type and the validation both come from this schema. ---

/** Hex as EIP-2335 writes it: bare (no 0x), `bytes` long if given. */
const Hex = (bytes?: number) =>
  Type.String({
    pattern: bytes === undefined ? "^([0-9a-fA-F]{2})*$" : `^[0-9a-fA-F]{${2 * bytes}}$`,
    description: `${bytes === undefined ? "" : `${bytes} bytes of `}hex without 0x`,
  });
const Count = Type.Integer({ minimum: 1 });
/** The checksum uses bytes 16..32 of the decryption key, so it is at least 32 bytes. */
const DkLen = Type.Integer({ minimum: 32 });

const ScryptModule = Type.Object({
  function: Type.Literal("scrypt"),
  params: Type.Object({ dklen: DkLen, n: Count, r: Count, p: Count, salt: Hex() }),
  message: Type.String(),
});
const Pbkdf2Module = Type.Object({
  function: Type.Literal("pbkdf2"),
  params: Type.Object({ dklen: DkLen, c: Count, prf: Type.Literal("hmac-sha256"), salt: Hex() }),
  message: Type.String(),
});
const KdfModule = Type.Union([ScryptModule, Pbkdf2Module]);

export const KeystoreSchema = Type.Object(
  {
    crypto: Type.Object({
      kdf: KdfModule,
      checksum: Type.Object({ function: Type.Literal("sha256"), params: Type.Object({}), message: Hex(32) }),
      // The secret is a BLS12-381 secret key: 32 bytes.
      cipher: Type.Object({ function: Type.Literal("aes-128-ctr"), params: Type.Object({ iv: Hex(16) }), message: Hex(32) }),
    }),
    description: Type.Optional(Type.String()),
    pubkey: Type.Optional(Hex(48)),
    path: Type.String(),
    uuid: Type.String({
      pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
      description: "a UUID",
    }),
    version: Type.Literal(4),
  },
  { title: "EIP-2335 keystore" },
);
export type Keystore = Static<typeof KeystoreSchema>;
type KdfModule = Static<typeof KdfModule>;

// --- KDF parameters ---

export type KdfParams = { function: "scrypt"; n: number; r: number; p: number } | { function: "pbkdf2"; c: number };
/** The EIP's scrypt parameters, the default for new keystores. */
export const EIP2335_SCRYPT: KdfParams = { function: "scrypt", n: 262144, r: 8, p: 1 };
/** The EIP's PBKDF2-HMAC-SHA256 parameters. */
export const EIP2335_PBKDF2: KdfParams = { function: "pbkdf2", c: 262144 };

const MiB = 2 ** 20;
/** A keystore may not make us allocate more than this for scrypt (4x the EIP's 256 MiB). */
const MAX_SCRYPT_MEMORY = 1024 * MiB;

/** What OpenSSL allocates for scrypt, and checks against `maxmem`: 128·r·(n + p + 2) bytes. */
function scryptMemory(n: number, r: number, p: number): number {
  return 128 * r * (n + p + 2);
}

/** The checks a JSON schema cannot express; `what` names the keystore in the error. */
function checkKdf(kdf: KdfModule, what: string): void {
  if (kdf.function !== "scrypt") return;
  const { n, r, p } = kdf.params;
  if (n < 2 || !Number.isInteger(Math.log2(n))) {
    throw new NektarError(`${what}: crypto.kdf.params.n: scrypt needs a power of 2 above 1, got ${n}`);
  }
  if (r * p >= 2 ** 30) throw new NektarError(`${what}: crypto.kdf.params: scrypt needs r·p < 2^30`);
  const memory = scryptMemory(n, r, p);
  if (memory > MAX_SCRYPT_MEMORY) {
    throw new NektarError(
      `${what}: crypto.kdf.params: scrypt with n=${n}, r=${r}, p=${p} needs ${Math.round(memory / MiB)} MiB, ` +
        `more than the ${MAX_SCRYPT_MEMORY / MiB} MiB allowed`,
    );
  }
}

// --- Errors ---

/** The password does not open this keystore: wrong password, or the file was altered. */
export class KeystoreChecksumError extends NektarError {
  constructor(what: string) {
    super(`${what}: checksum does not match: wrong password, or the keystore is corrupted`);
  }
}

// --- Parsing ---

/** Validates untrusted JSON as a keystore; `what` names it in errors (e.g. the file path). */
export function parseKeystore(json: unknown, what = "keystore"): Keystore {
  if (!Value.Check(KeystoreSchema, json)) {
    const error = Value.Errors(KeystoreSchema, json).First();
    throw new NektarError(`${what}: ${error === undefined ? "invalid" : explain(error)}`);
  }
  checkKdf(json.crypto.kdf, what);
  return json;
}

/** One TypeBox error as `field.path: what was expected, got what`. */
function explain(error: ValueError): string {
  if (error.type === ValueErrorType.Union) {
    // Our unions are modules told apart by `function`: explain the branch whose `function`
    // matched, or list the functions we know if none did.
    const discriminator = `${error.path}/function`;
    const branches = error.errors.map((branch) => [...branch]);
    const matched = branches.find((branch) => !branch.some((e) => e.path === discriminator));
    if (matched?.[0] !== undefined) return explain(matched[0]);
    const known = branches.map((branch) => `'${String(branch.find((e) => e.path === discriminator)?.schema.const)}'`);
    const got = (error.value as Record<string, unknown>)["function"];
    return at(discriminator, `expected one of ${known.join(", ")}, got ${preview(got)}`);
  }
  if (error.type === ValueErrorType.ObjectRequiredProperty) return at(error.path, "missing");
  const expected =
    error.type === ValueErrorType.StringPattern
      ? `expected ${String(error.schema.description)}`
      : error.message.replace(/^Expected/, "expected");
  return at(error.path, `${expected}, got ${preview(error.value)}`);
}

/** Prefixes `text` with the field a JSON pointer names, dotted as users read it. */
function at(pointer: string, text: string): string {
  return pointer === "" ? text : `${pointer.slice(1).replaceAll("/", ".")}: ${text}`;
}

function preview(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 40 ? `${json.slice(0, 38)}…` : json;
}

// --- Encryption and decryption ---

export interface EncryptOptions {
  /** Defaults to EIP2335_SCRYPT. Cheaper parameters are for tests and many-share ceremonies. */
  kdf?: KdfParams;
  /** EIP-2334 path of the key, or "" (the default) when it has none, as for a DKG share. */
  path?: string;
  description?: string;
}

/** Encrypts a 32-byte BLS secret key; the keystore records its public key. */
export async function encryptKeystore(secret: Uint8Array, password: string, options: EncryptOptions = {}): Promise<Keystore> {
  const pubkey = publicKeyOf(secret, "secret key to encrypt");
  const path = options.path ?? "";
  if (path !== "") parsePath(path);
  const kdf = kdfModule(options.kdf ?? EIP2335_SCRYPT);
  checkKdf(kdf, "keystore KDF options");

  const dk = await deriveKey(kdf, normalizePassword(password));
  try {
    const iv = randomBytes(16);
    const cipherMessage = aes128Ctr(dk, iv, secret);
    return {
      crypto: {
        kdf,
        checksum: { function: "sha256", params: {}, message: bare(checksum(dk, cipherMessage)) },
        cipher: { function: "aes-128-ctr", params: { iv: bare(iv) }, message: bare(cipherMessage) },
      },
      description: options.description ?? "",
      pubkey: bare(pubkey),
      path,
      uuid: randomUUID(),
      version: 4,
    };
  } finally {
    dk.fill(0);
  }
}

/**
 * Decrypts a keystore's secret key. Throws KeystoreChecksumError for a wrong password, and a
 * NektarError if the secret is not a BLS secret key or does not match the keystore's `pubkey`.
 */
export async function decryptKeystore(keystore: Keystore, password: string, what = "keystore"): Promise<Uint8Array> {
  const { kdf, checksum: expected, cipher } = keystore.crypto;
  const cipherMessage = Buffer.from(cipher.message, "hex");
  const dk = await deriveKey(kdf, normalizePassword(password));
  try {
    if (!timingSafeEqual(checksum(dk, cipherMessage), Buffer.from(expected.message, "hex"))) {
      throw new KeystoreChecksumError(what);
    }
    const secret = aes128Ctr(dk, Buffer.from(cipher.params.iv, "hex"), cipherMessage);
    const pubkey = publicKeyOf(secret, `${what}: decrypted secret`);
    if (keystore.pubkey !== undefined && bare(pubkey) !== keystore.pubkey.toLowerCase()) {
      throw new NektarError(
        `${what}: the decrypted secret key's public key 0x${bare(pubkey)} is not the keystore's pubkey ` +
          `0x${keystore.pubkey}: the keystore is corrupted`,
      );
    }
    return secret;
  } finally {
    dk.fill(0);
  }
}

/**
 * EIP-2335 password processing: NFKD, then strip the C0 (U+0000-U+001F), Delete (U+007F) and
 * C1 (U+0080-U+009F) control codes, then UTF-8. Space stays.
 */
export function normalizePassword(password: string): Uint8Array {
  // eslint-disable-next-line no-control-regex -- matching control codes is the point
  return new TextEncoder().encode(password.normalize("NFKD").replace(/[\u0000-\u001f\u007f-\u009f]/g, ""));
}

function kdfModule(params: KdfParams): KdfModule {
  const salt = bare(randomBytes(32));
  return params.function === "scrypt"
    ? { function: "scrypt", params: { dklen: 32, n: params.n, r: params.r, p: params.p, salt }, message: "" }
    : { function: "pbkdf2", params: { dklen: 32, c: params.c, prf: "hmac-sha256", salt }, message: "" };
}

/** The decryption key. Async: scrypt and PBKDF2 run on libuv's pool, not the event loop. */
function deriveKey(kdf: KdfModule, password: Uint8Array): Promise<Buffer> {
  const salt = Buffer.from(kdf.params.salt, "hex");
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, key: Buffer) => (err ? reject(err) : resolve(key));
    if (kdf.function === "scrypt") {
      const { dklen, n, r, p } = kdf.params;
      scrypt(password, salt, dklen, { N: n, r, p, maxmem: scryptMemory(n, r, p) }, done);
    } else {
      pbkdf2(password, salt, kdf.params.c, kdf.params.dklen, "sha256", done);
    }
  });
}

/** EIP-2335 password verification: SHA256(dk[16:32] || cipher message). */
function checksum(dk: Uint8Array, cipherMessage: Uint8Array): Uint8Array {
  const preimage = new Uint8Array(16 + cipherMessage.length);
  preimage.set(dk.subarray(16, 32));
  preimage.set(cipherMessage, 16);
  return sha256(preimage);
}

/** AES-128-CTR under dk[0:16]. In CTR mode encryption and decryption are the same operation. */
function aes128Ctr(dk: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
  return new Uint8Array(Buffer.concat([cipher.update(data), cipher.final()]));
}

/** The compressed public key of a 32-byte secret key in [1, r). */
function publicKeyOf(secret: Uint8Array, what: string): Uint8Array {
  const sk = fromBytesBE(secret);
  if (secret.length !== 32 || sk === 0n || sk >= FR_ORDER) {
    throw new NektarError(`${what}: not a BLS12-381 secret key (32 bytes, in 1..r-1)`);
  }
  return SecretKey.fromBytes(secret).toPublicKey().toBytes();
}

function bare(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

// --- Files ---

/** Reads and validates a keystore file (it is not decrypted: that needs the password). */
export async function readKeystoreFile(path: string): Promise<Keystore> {
  const what = `keystore file ${path}`;
  const text = await readText(path, what);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NektarError(`${what}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  return parseKeystore(json, what);
}

/**
 * Writes a keystore readable by its owner only (mode 0600), atomically: a crash leaves either
 * the old file or the new one, never a torn keystore.
 */
export async function writeKeystoreFile(path: string, keystore: Keystore): Promise<void> {
  const data = JSON.stringify(parseKeystore(keystore, `keystore for ${path}`), null, 2) + "\n";
  await writeFileAtomic(path, data, { mode: 0o600, what: `keystore file ${path}` });
}

/**
 * Reads a keystore password from a file, dropping one trailing newline (LF or CRLF) as the
 * staking-deposit-cli and Lighthouse do, so `echo secret > pw.txt` works.
 */
export async function readPasswordFile(path: string): Promise<string> {
  const what = `password file ${path}`;
  const password = (await readText(path, what)).replace(/\r?\n$/, "");
  if (normalizePassword(password).length === 0) {
    throw new NektarError(`${what}: is empty (after removing the trailing newline and control characters)`);
  }
  return password;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES"
          ? "is not readable (permission denied)"
          : code === "EISDIR"
            ? "is a directory"
            : `cannot be read (${(err as Error).message})`;
    throw new NektarError(`${what} ${reason}`, { cause: err });
  }
}
