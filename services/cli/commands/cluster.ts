import type { Command } from "commander";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { NektarError } from "../../core/errors.js";
import { networkByGenesisForkVersion, networkByName } from "../../core/eth/index.js";
import { toHex } from "../../core/hex.js";
import {
  OperatorSchema,
  assertFullySigned,
  configHash,
  createDefinition,
  readDefinitionFile,
  readIdentityFile,
  signDefinition,
  unsignedOperators,
  writeDefinitionFile,
} from "../../core/p2p/index.js";
import { readJsonFile } from "../io.js";

/** The --operators file: the definition's operator entries, without signatures. */
const OperatorsFile = Type.Array(Type.Omit(OperatorSchema, ["signature"]), { minItems: 1 });

export function registerClusterCommands(program: Command): void {
  const cluster = program.command("cluster").description("cluster definitions: create one, sign it as an operator, verify it before a DKG");

  cluster
    .command("create")
    .description("write a new, unsigned cluster definition")
    .requiredOption("--name <name>", "the cluster's name")
    .requiredOption("--operators <file>", 'JSON list of operators: [{ "name", "address", "peerId", "multiaddrs": [...] }, ...]')
    .requiredOption("--withdrawal-address <address>", "execution address the validators withdraw to")
    .requiredOption("--fee-recipient <address>", "execution address that receives the validators' fees")
    .option("--network <name>", "mainnet, hoodi, holesky or sepolia (or give --fork-version)")
    .option("--fork-version <hex>", "genesis fork version of a custom network, e.g. 0x10000910")
    .option("--validators <n>", "number of distributed validators the DKG makes", (v) => Number(v), 1)
    .option("--threshold <t>", "signatures needed of n operators (default and minimum: ceil(2n/3))", (v) => Number(v))
    .requiredOption("--out <file>", "where to write the definition (an existing file is never replaced)")
    .action(async (options: CreateOptions) => {
      const fork = forkVersion(options);
      const operators = await readJsonFile(options.operators);
      if (!Value.Check(OperatorsFile, operators)) {
        const error = Value.Errors(OperatorsFile, operators).First();
        throw new NektarError(`${options.operators}: ${error ? `${error.path.slice(1) || "(top level)"}: ${error.message}` : "not a list of operators"}`);
      }
      const def = createDefinition({
        name: options.name,
        forkVersion: fork,
        threshold: options.threshold,
        numValidators: options.validators,
        withdrawalAddress: options.withdrawalAddress,
        feeRecipient: options.feeRecipient,
        operators,
      });
      await writeDefinitionFile(options.out, def, { overwrite: false });
      process.stdout.write(
        `${options.out}: ${def.operators.length} operators, threshold ${def.threshold}, config hash ${toHex(configHash(def))}\n` +
          `next: each operator runs \`nektar cluster sign ${options.out} --identity <key file>\` in turn\n`,
      );
    });

  cluster
    .command("sign")
    .description("add this operator's signature to a definition (the file is rewritten atomically)")
    .argument("<definition>", "cluster definition file")
    .requiredOption("--identity <file>", "this operator's identity key file")
    .action(async (file: string, options: { identity: string }) => {
      const def = await signDefinition(await readDefinitionFile(file), await readIdentityFile(options.identity));
      await writeDefinitionFile(file, def, { overwrite: true });
      const missing = unsignedOperators(def);
      process.stdout.write(`${file}: signed; ${missing.length === 0 ? "every operator has signed" : `still to sign: ${missing.join(", ")}`}\n`);
    });

  cluster
    .command("verify")
    .description("check a definition and its signatures; fails unless every operator has signed")
    .argument("<definition>", "cluster definition file")
    .action(async (file: string) => {
      const def = await readDefinitionFile(file);
      const network = networkByGenesisForkVersion(Buffer.from(def.forkVersion.slice(2), "hex"));
      process.stdout.write(
        `${file}: "${def.name}", ${def.operators.length} operators, threshold ${def.threshold}, ${def.numValidators} validator${def.numValidators === 1 ? "" : "s"}, ` +
          `network ${network?.name ?? "custom"} (${def.forkVersion})\nconfig hash ${toHex(configHash(def))}\n`,
      );
      for (const op of def.operators) process.stdout.write(`  ${op.signature ? "signed  " : "unsigned"} ${op.name} ${op.peerId}\n`);
      assertFullySigned(def, file);
    });
}

interface CreateOptions {
  name: string;
  operators: string;
  withdrawalAddress: string;
  feeRecipient: string;
  network?: string;
  forkVersion?: string;
  validators: number;
  threshold?: number;
  out: string;
}

function forkVersion(options: CreateOptions): string {
  if ((options.network === undefined) === (options.forkVersion === undefined)) throw new NektarError("give either --network or --fork-version");
  return options.network !== undefined ? toHex(networkByName(options.network).genesisForkVersion) : options.forkVersion!.toLowerCase();
}
