import { Option, type Command } from "commander";
import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { mkdir, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { renderCrds } from "../../../controller/api/crds.js";
import { Controller } from "../../../controller/reconcilers/manager.js";
import { DEFAULT_DKG_PORT, type DkgOutputFiles, dkgOutputSecret } from "../../../controller/resources/dkg.js";
import { readLockFile } from "../../core/cluster/lock.js";
import { DEPOSIT_DATA_FILE, KEYS_DIR, LOCK_FILE, keystoreFile } from "../../core/cluster/shares.js";
import { NektarError } from "../../core/errors.js";
import { createLogger } from "../../core/log/index.js";
import { writeFileAtomic } from "../../core/store/files.js";
import { parseInteger } from "../options.js";

interface PublishOptions {
  from: string;
  passwordFile: string;
  secret: string;
  namespace: string;
  owner: string;
  kubeconfig?: string;
}

interface RunOptions {
  kubeconfig?: string;
  namespace: string;
  identity: string;
  nodeImage: string;
  probeAddress: string;
  leaseName: string;
  workers: number;
  dkgPort: number;
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
    .option("--dkg-port <port>", "TCP port of DistributedValidators' DKG pods", parseInteger, DEFAULT_DKG_PORT)
    .action(async (options: RunOptions) => {
      const kc = loadKubeConfig(options.kubeconfig);
      const [host, port] = splitHostPort(options.probeAddress);
      const log = createLogger("controller", { bindings: { identity: options.identity } });
      const instance = new Controller(kc, {
        identity: options.identity,
        controllerNamespace: options.namespace,
        defaultImage: options.nodeImage,
        leaderElection: { name: options.leaseName },
        probes: { host, port },
        workers: options.workers,
        dkgPort: options.dkgPort,
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
    .command("publish-dkg-output")
    .description("in a DistributedValidator's DKG Job: put this operator's `nektar dkg` output into a new Secret, owned by the DistributedValidator")
    .requiredOption("--from <dir>", "the folder `nektar dkg --out` wrote")
    .requiredOption("--password-file <file>", "the keystores' password, the file given to `nektar dkg`")
    .requiredOption("--secret <name>", "the Secret to create; it must not exist")
    .requiredOption("--namespace <ns>", "the DistributedValidator's namespace")
    .requiredOption("--owner <name/uid>", "the DistributedValidator, as name/uid: the Secret goes when it goes")
    .option("--kubeconfig <file>", "kubeconfig to use (default: the pod's ServiceAccount, else $KUBECONFIG or ~/.kube/config)")
    .action(async (options: PublishOptions) => {
      const [name, uid, ...rest] = options.owner.split("/");
      if (!name || !uid || rest.length > 0) throw new NektarError(`--owner ${options.owner}: expected <name>/<uid>, e.g. dv-1/0b6c1a52-...`);
      const files = await readDkgOutput(options.from, options.passwordFile);
      const secret = dkgOutputSecret({ name, uid, namespace: options.namespace }, options.secret, files);
      const size = Object.values(secret.stringData ?? {}).reduce((sum, value) => sum + Buffer.byteLength(value), 0);
      if (size > MAX_SECRET_BYTES) {
        throw new NektarError(`--from ${options.from}: the output is ${size} bytes, more than a Secret holds (1 MiB): split the validators across DistributedValidators`);
      }
      const core = loadKubeConfig(options.kubeconfig).makeApiClient(CoreV1Api);
      try {
        await core.createNamespacedSecret({ namespace: options.namespace, body: secret });
      } catch (error) {
        if (error instanceof ApiException) throw new NektarError(`cannot create Secret ${options.namespace}/${options.secret}: ${error.code}: ${String(error.body).slice(0, 512)}`, { cause: error });
        throw error;
      }
      process.stdout.write(`published the DKG output (${files.keystores.length} keystores, cluster lock, deposit data) to Secret ${options.namespace}/${options.secret}\n`);
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

/** What a Secret may hold (the API server refuses more). */
const MAX_SECRET_BYTES = 1024 * 1024;

function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (error) {
    throw new NektarError(`--kubeconfig ${file ?? "(default)"}: cannot load: ${(error as Error).message}`, { cause: error });
  }
  return kc;
}

/** The files of a DKG output folder, checked: the lock in full, and one keystore per validator. */
async function readDkgOutput(dir: string, passwordFile: string): Promise<DkgOutputFiles> {
  const read = async (path: string) =>
    readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new NektarError(`--from ${dir}: cannot read ${path} (${error.code ?? error.message})`);
    });
  const lockPath = join(dir, LOCK_FILE);
  const lock = await readLockFile(lockPath);
  return {
    lock: await read(lockPath),
    depositData: await read(join(dir, DEPOSIT_DATA_FILE)),
    password: await read(passwordFile),
    keystores: await Promise.all(lock.validators.map((_, v) => read(join(dir, KEYS_DIR, keystoreFile(v))))),
  };
}

function splitHostPort(address: string): [string, number] {
  const match = /^(.*):(\d{1,5})$/.exec(address);
  if (!match || Number(match[2]) > 65535) throw new NektarError(`--probe-address ${address}: expected host:port, e.g. 0.0.0.0:8081`);
  return [match[1]!, Number(match[2])];
}
