import type { Command } from "commander";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { toHex } from "../../core/hex.js";
import { type EnrFields, type Identity, createIdentityFile, encodeEnr, readIdentityFile } from "../../core/p2p/index.js";

export function registerIdentityCommands(program: Command): void {
  const identity = program.command("identity").description("operator identity: the secp256k1 key a node authenticates with, and its libp2p peer id");

  identity
    .command("create")
    .description("write a new identity key file (mode 0600; an existing file is never replaced) and print its peer id")
    .requiredOption("--out <file>", "where to write the key, e.g. identity.key")
    .action(async (options: { out: string }) => {
      const created = await createIdentityFile(options.out);
      process.stdout.write(`${options.out}: peer id ${created.peerId.toString()}\n`);
    });

  identity
    .command("show")
    .description("print an identity's peer id, public key and ENR")
    .argument("<file>", "identity key file (nektar's, or Charon's charon-enr-private-key)")
    .option("--ip <address>", "IPv4 address to put in the ENR")
    .option("--tcp <port>", "TCP port to put in the ENR", (v) => Number(v))
    .option("--json", "print JSON, for scripts")
    .action(async (file: string, options: { ip?: string; tcp?: number; json?: boolean }) => {
      const info = describe(await readIdentityFile(file), { ip: options.ip, tcp: options.tcp });
      if (options.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + "\n");
      } else {
        process.stdout.write(`peer id:    ${info.peerId}\npublic key: ${info.publicKey}\nenr:        ${info.enr}\n`);
      }
    });
}

function describe(identity: Identity, fields: EnrFields): { peerId: string; publicKey: string; enr: string } {
  return {
    peerId: identity.peerId.toString(),
    publicKey: toHex(secp256k1.getPublicKey(identity.privateKey.raw, true)),
    enr: encodeEnr(identity, fields),
  };
}
