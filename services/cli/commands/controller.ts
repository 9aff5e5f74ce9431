import type { Command } from "commander";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { renderCrds } from "../../../controller/api/crds.js";
import { writeFileAtomic } from "../../core/store/files.js";

export function registerControllerCommands(program: Command): void {
  const controller = program.command("controller").description("the Kubernetes operator: CRDs and the controller");

  controller
    .command("crds")
    .description("print the CustomResourceDefinitions (YAML), or write one file per CRD into a folder")
    .option("--out <dir>", "folder to write <plural>.nektar.network.yaml files into (created if missing)")
    .action(async (options: { out?: string }) => {
      const crds = renderCrds();
      if (options.out === undefined) {
        process.stdout.write(crds.map((crd) => crd.yaml).join("---\n"));
        return;
      }
      await mkdir(options.out, { recursive: true });
      for (const { file, yaml } of crds) await writeFileAtomic(join(options.out, file), yaml);
      process.stdout.write(`wrote ${crds.length} CRDs to ${options.out}\n`);
    });
}
