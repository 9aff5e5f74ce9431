import type { Command } from "commander";
import { existsSync } from "node:fs";
import { EIP2335_PBKDF2, EIP2335_SCRYPT, type KdfParams, decryptKeystore, encryptKeystore, readKeystoreFile, readPasswordFile, validateThreshold, writeKeystoreFile } from "../../core/crypto/index.js";
import { NektarError } from "../../core/errors.js";
import { combineShares, splitKey } from "../../dkg/keysplit.js";
import { readPassword } from "../io.js";
import { parseInteger } from "../options.js";

const KDFS: Record<string, KdfParams> = { scrypt: EIP2335_SCRYPT, pbkdf2: EIP2335_PBKDF2 };

export function registerKeysCommands(program: Command): void {
  const keys = program.command("keys").description("split a validator key into threshold shares, or combine them back");

  keys
    .command("split")
    .description("split an existing validator keystore into N EIP-2335 share keystores, any T of which sign")
    .requiredOption("--keystore <file>", "EIP-2335 keystore of the validator key")
    .option("--password-file <file>", "its password (asked on the terminal when absent)")
    .requiredOption("--shares <n>", "number of shares N", parseInteger)
    .requiredOption("--threshold <t>", "shares T needed to sign", parseInteger)
    .requiredOption("--out <dir>", "new folder for share-<id>.json keystores and public-shares.json")
    .option("--share-password-file <file>", "password of the share keystores (default: the validator keystore's)")
    .option("--kdf <name>", "KDF of the share keystores: scrypt (EIP-2335 default) or pbkdf2", "scrypt")
    .action(async (options: SplitCliOptions) => {
      const kdf = KDFS[options.kdf];
      if (!kdf) throw new NektarError(`--kdf ${options.kdf}: must be scrypt or pbkdf2`);
      validateThreshold(options.shares, options.threshold);
      const keystore = await readKeystoreFile(options.keystore);
      const password = await readPassword(options.passwordFile, `password of ${options.keystore}`);
      const secret = await decryptKeystore(keystore, password, options.keystore);
      const sharePassword = options.sharePasswordFile ? await readPasswordFile(options.sharePasswordFile) : password;
      const manifest = await splitKey(secret, options.out, { shares: options.shares, threshold: options.threshold, password: sharePassword, kdf });
      secret.fill(0);
      process.stdout.write(
        `split validator ${manifest.validator_pubkey} into ${options.shares} shares, threshold ${options.threshold}, in ${options.out}\n`,
      );
    });

  keys
    .command("combine")
    .description("recover the whole validator key from at least T share keystores (emergency exit)")
    .requiredOption("--shares <dir>", "folder with public-shares.json and the share keystores")
    .requiredOption("--out <file>", "keystore file to write the recovered key to (must not exist)")
    .option(
      "--password-file <file>",
      "password of the share keystores; a keystore X.json with an X.txt beside it uses that instead (asked when neither)",
    )
    .option("--out-password-file <file>", "password of the recovered keystore (default: the shares' password)")
    .action(async (options: CombineCliOptions) => {
      if (existsSync(options.out)) throw new NektarError(`--out ${options.out}: exists already; refusing to overwrite a key`);
      let sharedPassword: string | undefined;
      const { secret, manifest } = await combineShares(options.shares, async ({ file }) => {
        const beside = file.replace(/\.json$/, ".txt");
        if (existsSync(beside)) return readPasswordFile(beside);
        sharedPassword ??= await readPassword(options.passwordFile, `password of the share keystores in ${options.shares}`);
        return sharedPassword;
      });
      const outPassword = options.outPasswordFile
        ? await readPasswordFile(options.outPasswordFile)
        : (sharedPassword ?? (await readPassword(undefined, `password for ${options.out}`)));
      await writeKeystoreFile(options.out, await encryptKeystore(secret, outPassword));
      secret.fill(0);
      process.stdout.write(`recovered validator ${manifest.validator_pubkey} into ${options.out}\n`);
    });
}

interface SplitCliOptions {
  keystore: string;
  passwordFile?: string;
  shares: number;
  threshold: number;
  out: string;
  sharePasswordFile?: string;
  kdf: string;
}

interface CombineCliOptions {
  shares: string;
  out: string;
  passwordFile?: string;
  outPasswordFile?: string;
}
