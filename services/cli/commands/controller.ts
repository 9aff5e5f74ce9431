import { Option, type Command } from "commander";
import { KubeConfig } from "@kubernetes/client-node";
import { mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { renderCrds } from "../../../controller/api/crds.js";
import { Controller } from "../../../controller/reconcilers/manager.js";
import { NektarError } from "../../core/errors.js";
import { createLogger } from "../../core/log/index.js";
import { writeFileAtomic } from "../../core/store/files.js";
import { parseInteger } from "../options.js";

interface RunOptions {
  kubeconfig?: string;
  namespace: string;
  identity: string;
  nodeImage: string;
  probeAddress: string;
  leaseName: string;
  workers: number;
}

export function registerControllerCommands(program: Command): void {
  const controller = program.command("controller").description("the Kubernetes operator: CRDs and the controller");

  controller
    .command("run")
    .description("reconcile Operators (and their KeyShares) until SIGTERM; one of several replicas leads, elected on a Lease")
    .option("--kubeconfig <file>", "kubeconfig to use (default: the in-cluster ServiceAccount, else $KUBECONFIG or ~/.kube/config)")
    .addOption(new Option("--namespace <ns>", "namespace of the controller: its Lease, and allowed to reach nodes' APIs").env("POD_NAMESPACE").default("nektar-system"))
    .addOption(new Option("--identity <id>", "this replica's name in the Lease and in Events").env("POD_NAME").default(hostname()))
    .requiredOption("--node-image <image>", "image of `nektar node` for Operators that name none", process.env.NEKTAR_NODE_IMAGE)
    .option("--probe-address <host:port>", "where /healthz, /readyz and /metrics listen", "0.0.0.0:8081")
    .option("--lease-name <name>", "the leader-election Lease", "nektar-controller")
    .option("--workers <n>", "concurrent reconciles per resource kind", parseInteger, 4)
    .action(async (options: RunOptions) => {
      const kc = new KubeConfig();
      try {
        if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
        else kc.loadFromDefault();
      } catch (error) {
        throw new NektarError(`--kubeconfig ${options.kubeconfig ?? "(default)"}: cannot load: ${(error as Error).message}`, { cause: error });
      }
      const [host, port] = splitHostPort(options.probeAddress);
      const log = createLogger("controller", { bindings: { identity: options.identity } });
      const instance = new Controller(kc, {
        identity: options.identity,
        controllerNamespace: options.namespace,
        defaultImage: options.nodeImage,
        leaderElection: { name: options.leaseName },
        probes: { host, port },
        workers: options.workers,
        log,
      });
      let stopping = false;
      const stop = () => {
        stopping = true;
        log.info("stopping: draining reconciles and releasing the lease");
        void instance.stop();
      };
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      await instance.start();
      await instance.done;
      await instance.stop();
      // A replica that lost its Lease exits, and is restarted as a standby.
      if (!stopping) throw new NektarError("lost the leader Lease; exiting so that this replica restarts as a standby");
    });

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

function splitHostPort(address: string): [string, number] {
  const match = /^(.*):(\d{1,5})$/.exec(address);
  if (!match || Number(match[2]) > 65535) throw new NektarError(`--probe-address ${address}: expected host:port, e.g. 0.0.0.0:8081`);
  return [match[1]!, Number(match[2])];
}
