import type { Command } from "commander";
import { EIP2335_PBKDF2, EIP2335_SCRYPT, type KdfParams, readPasswordFile } from "../../core/crypto/index.js";
import { NektarError } from "../../core/errors.js";
import { readDefinitionFile } from "../../core/p2p/definition.js";
import { readIdentityFile } from "../../core/p2p/identity.js";
import type { CeremonyResult, Progress } from "../../dkg/ceremony.js";
import { readLockFile } from "../../core/cluster/lock.js";
import { DEPOSIT_DATA_FILE, KEYS_DIR, LOCK_FILE } from "../../core/cluster/shares.js";
import { type DkgOptions, runDkg } from "../../dkg/wire.js";
import { readPassword } from "../io.js";
import { parseInteger } from "../options.js";

const KDFS: Record<string, KdfParams> = { scrypt: EIP2335_SCRYPT, pbkdf2: EIP2335_PBKDF2 };

export function registerDkgCommands(program: Command): void {
  withCeremonyOptions(
    program
      .command("dkg")
      .description("generate the cluster's validator keys with its other operators: key shares, a cluster lock every operator signs, deposit data")
      .requiredOption("--definition <file>", "cluster definition, signed by every operator"),
  ).action(async (options: CeremonyCliOptions) => {
    const definition = await readDefinitionFile(options.definition);
    const result = await runDkg(await dkgOptions(options, definition, "DKG"));
    report("DKG", result, options.out);
  });

  withCeremonyOptions(
    program
      .command("reshare")
      .description("move the cluster's validators to a new operator set or threshold, keys unchanged; needs the old threshold of the lock's operators")
      .requiredOption("--lock <file>", "the cluster's current lock (cluster-lock.json)")
      .requiredOption("--definition <file>", "the new cluster definition, signed by every new operator; same validators, network and withdrawal address")
      .option("--keys <dir>", `this operator's keystores of the current lock (the ${KEYS_DIR} folder of its last output); needed if it holds shares`)
      .option("--keys-password-file <file>", "their password (default: the new keystores')"),
  ).action(async (options: ReshareCliOptions) => {
    const lock = await readLockFile(options.lock);
    const definition = await readDefinitionFile(options.definition);
    const dkg = await dkgOptions(options, definition, "resharing");
    const keysPassword = options.keysPasswordFile === undefined ? dkg.password : await readPasswordFile(options.keysPasswordFile);
    const result = await runDkg({ ...dkg, reshare: { lock, keysDir: options.keys, keysPassword } });
    report("resharing", result, options.out);
    process.stdout.write(
      `every operator of the previous lock must now delete its old keystores: the old shares are of another polynomial, and ${lock.definition.threshold} of them still sign\n`,
    );
  });
}

function withCeremonyOptions(command: Command): Command {
  return command
    .requiredOption("--identity <file>", "this operator's identity key file")
    .requiredOption("--out <dir>", `new folder for ${LOCK_FILE}, ${DEPOSIT_DATA_FILE} and ${KEYS_DIR}/`)
    .option("--password-file <file>", "password of the new keystores (asked on the terminal when absent)")
    .option("--kdf <name>", "KDF of the keystores: scrypt (EIP-2335 default) or pbkdf2", "scrypt")
    .option("--listen <multiaddr...>", "addresses to listen on (default: this operator's in the definition; for a DNS name, every interface at its port)")
    .option("--timeout <seconds>", "how long to wait for every operator to come up", parseInteger, 600)
    .option("--phase-timeout <seconds>", "how long each later step waits for the other operators", parseInteger, 120);
}

async function dkgOptions(options: CeremonyCliOptions, definition: DkgOptions["definition"], kind: string): Promise<DkgOptions> {
  const kdf = KDFS[options.kdf];
  if (!kdf) throw new NektarError(`--kdf ${options.kdf}: must be scrypt or pbkdf2`);
  return {
    definition,
    identity: await readIdentityFile(options.identity),
    outDir: options.out,
    password: await readPassword(options.passwordFile, `password for the keystores in ${options.out}`),
    kdf,
    listen: options.listen,
    timeouts: { connectMs: options.timeout * 1000, phaseMs: options.phaseTimeout * 1000 },
    onProgress: progressPrinter(kind),
    // Progress lines are the command's voice; logs only for what goes wrong, unless asked.
    logLevel: process.env.NEKTAR_LOG_LEVEL ? undefined : "warn",
  };
}

/** Prints a line to stderr whenever the phase, the operators ready or the validators done change. */
function progressPrinter(kind: string): (progress: Progress) => void {
  let last = "";
  return ({ phase, peersReady, peers, validatorsDone, validators }) => {
    const line =
      phase === "connect"
        ? `${kind}: waiting for the other operators: ${peersReady}/${peers} ready`
        : `${kind}: ${phase}: ${validatorsDone}/${validators} validators done`;
    if (line !== last) process.stderr.write(line + "\n");
    last = line;
  };
}

function report(kind: string, result: CeremonyResult, out: string): void {
  const { lock } = result;
  const def = lock.definition;
  process.stdout.write(
    `${kind} complete: ${lock.validators.length} validator${lock.validators.length === 1 ? "" : "s"}, threshold ${def.threshold} of ${def.operators.length}, ` +
      `this operator holds share ${result.shareId}; lock hash ${lock.lockHash}; written to ${out}\n`,
  );
  for (const { operator, reason } of result.disqualified) process.stdout.write(`disqualified dealer ${operator}: ${reason}\n`);
}

interface CeremonyCliOptions {
  definition: string;
  identity: string;
  out: string;
  passwordFile?: string;
  kdf: string;
  listen?: string[];
  timeout: number;
  phaseTimeout: number;
}

interface ReshareCliOptions extends CeremonyCliOptions {
  lock: string;
  keys?: string;
  keysPasswordFile?: string;
}
