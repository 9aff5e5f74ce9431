import type { Command } from "commander";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { NektarError } from "../../core/errors.js";
import { fromHex } from "../../core/hex.js";
import { writeFileAtomic } from "../../core/store/files.js";
import { FileSlashingProtection, formatInterchange, parseInterchange } from "../../signer/slashingProtection/index.js";
import { LOG_FILE } from "../../signer/slashingProtection/store.js";
import { readJsonFile } from "../io.js";

export function registerSlashingProtectionCommands(program: Command): void {
  const sp = program
    .command("slashing-protection")
    .description("move a node's slashing protection history in and out as EIP-3076 v5 interchange files (node stopped)");

  sp.command("export")
    .description("write the signing history of all validators, or of the given ones, to an interchange file")
    .requiredOption("--data-dir <dir>", "the node's data directory")
    .requiredOption("--out <file>", "interchange file to write (must not exist)")
    .option("--pubkey <hex...>", "only these validators (0x public keys; default: all)")
    .action(async (options: ExportCliOptions) => {
      if (existsSync(options.out)) throw new NektarError(`--out ${options.out}: exists already; choose a new file`);
      if (!existsSync(join(options.dataDir, LOG_FILE))) {
        throw new NektarError(`--data-dir ${options.dataDir}: no slashing protection history there (${LOG_FILE} missing)`);
      }
      const store = await FileSlashingProtection.open(options.dataDir);
      try {
        const interchange = await store.exportInterchange(options.pubkey);
        await writeFileAtomic(options.out, JSON.stringify(formatInterchange(interchange), null, 2) + "\n");
        process.stdout.write(`exported ${interchange.validators.length} validators to ${options.out}\n`);
      } finally {
        await store.close();
      }
    });

  sp.command("import")
    .description("merge an interchange file into the node's history, keeping the stricter of the two")
    .requiredOption("--data-dir <dir>", "the node's data directory (created if absent)")
    .requiredOption("--file <file>", "EIP-3076 v5 interchange file")
    .requiredOption("--genesis-validators-root <hex>", "the network's genesis validators root; the file must be for it")
    .action(async (options: ImportCliOptions) => {
      const genesisValidatorsRoot = fromHex(options.genesisValidatorsRoot, "--genesis-validators-root", 32);
      const interchange = parseInterchange(await readJsonFile(options.file), options.file);
      await mkdir(options.dataDir, { recursive: true });
      const store = await FileSlashingProtection.open(options.dataDir, { genesisValidatorsRoot });
      try {
        const summary = await store.importInterchange(interchange, options.file);
        process.stdout.write(
          `imported ${summary.blocks} blocks and ${summary.attestations} attestations of ${summary.validators} validators into ${options.dataDir}\n`,
        );
      } finally {
        await store.close();
      }
    });
}

interface ExportCliOptions {
  dataDir: string;
  out: string;
  pubkey?: string[];
}

interface ImportCliOptions {
  dataDir: string;
  file: string;
  genesisValidatorsRoot: string;
}
