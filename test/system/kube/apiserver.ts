/**
 * A real Kubernetes control plane for system tests: etcd, kube-apiserver and, on request,
 * kube-controller-manager, built by test/system/provision/kube.sh and started here on loopback.
 *
 *   const kube = await startKubeApiServer({ controllerManager: true });
 *   const kc = new KubeConfig();
 *   kc.loadFromFile(kube.kubeconfigPath);
 *   ...
 *   await kube.stop();
 *
 * The admin identity in the kubeconfig is in system:masters; authorization is RBAC, so a test of
 * least privilege can mint ServiceAccount tokens (TokenRequest) and act as them.
 * Everything lives in one temp dir (etcd data, keys, logs, kubeconfig) removed by stop().
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NektarError } from "../../../services/core/errors.js";
import { freePort, Processes } from "../processes.js";

export interface KubeApiServer {
  /** A kubeconfig (context "nektar-test") for an admin in group system:masters. */
  readonly kubeconfigPath: string;
  /** The API server's URL, https://127.0.0.1:<port>. */
  readonly server: string;
  /** Where etcd.log, kube-apiserver.log and kube-controller-manager.log are, until stop(). */
  readonly dir: string;
  /** Kills every process of this control plane and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /**
   * Also run kube-controller-manager: needed for anything a controller does (garbage collection
   * of owner-referenced objects, namespace deletion, default ServiceAccounts, StatefulSet pods).
   */
  controllerManager?: boolean;
  /** How long to wait for /readyz; the first start after a build is the slowest. */
  readyTimeoutMs?: number;
}

const SERVICE_CIDR = "10.96.0.0/24";
const ISSUER = "https://kubernetes.default.svc.cluster.local";

export async function startKubeApiServer(options: StartOptions = {}): Promise<KubeApiServer> {
  const bins = {
    etcd: binary("ETCD"),
    apiserver: binary("KUBE_APISERVER"),
    controllerManager: options.controllerManager ? binary("KUBE_CONTROLLER_MANAGER") : undefined,
  };
  const dir = mkdtempSync(join(tmpdir(), "nektar-kube-"));
  const processes = new Processes(dir);
  try {
    const adminToken = randomBytes(24).toString("hex");
    const controllerManagerToken = randomBytes(24).toString("hex");
    // Static tokens: one admin, and the identity the bootstrap RBAC policy grants the
    // controller manager's own permissions to.
    writeFileSync(
      join(dir, "tokens.csv"),
      `${adminToken},nektar-admin,nektar-admin,"system:masters"\n` +
        `${controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager\n`,
      { mode: 0o600 },
    );
    const serviceAccountKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
    writeFileSync(join(dir, "sa.key"), serviceAccountKey.privateKey.export({ type: "pkcs8", format: "pem" }), {
      mode: 0o600,
    });
    writeFileSync(join(dir, "sa.pub"), serviceAccountKey.publicKey.export({ type: "spki", format: "pem" }));

    // etcd on a Unix socket, as Kubernetes' own integration tests do: no port to race for.
    const etcdSocket = join(dir, "etcd.sock");
    processes.start("etcd", bins.etcd, [
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=unix://${etcdSocket}`,
      // Required, never used: clients reach etcd through the socket.
      "--advertise-client-urls=http://127.0.0.1:0",
      "--listen-peer-urls=http://127.0.0.1:0",
      "--log-level=warn",
      // The data is thrown away after the suite; fsync only costs time.
      "--unsafe-no-fsync",
    ]);

    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    processes.start("kube-apiserver", bins.apiserver, [
      `--etcd-servers=unix://${etcdSocket}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      // The "kubernetes" Service's endpoints may not be loopback, and no pod runs to use them.
      "--endpoint-reconciler-type=none",
      `--secure-port=${port}`,
      // With no serving cert given, the server makes a CA and a cert for 127.0.0.1 here.
      `--cert-dir=${join(dir, "pki")}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--service-account-issuer=${ISSUER}`,
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--profiling=false",
    ]);

    const caPath = join(dir, "pki", "apiserver.crt");
    await waitReady(server, caPath, adminToken, processes, options.readyTimeoutMs ?? 90_000);
    const ca = readFileSync(caPath);

    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, kubeconfig(server, ca, "nektar-admin", adminToken), { mode: 0o600 });

    if (bins.controllerManager !== undefined) {
      const controllerManagerConfig = join(dir, "kube-controller-manager.kubeconfig");
      writeFileSync(
        controllerManagerConfig,
        kubeconfig(server, ca, "system:kube-controller-manager", controllerManagerToken),
        { mode: 0o600 },
      );
      processes.start("kube-controller-manager", bins.controllerManager, [
        `--kubeconfig=${controllerManagerConfig}`,
        "--leader-elect=false",
        // Each controller acts as its own ServiceAccount with its bootstrap role, as in a cluster.
        "--use-service-account-credentials",
        `--service-account-private-key-file=${join(dir, "sa.key")}`,
        `--root-ca-file=${caPath}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // No health or metrics endpoint to serve to tests: nothing listens, no port to pick.
        "--secure-port=0",
      ]);
    }

    return { kubeconfigPath, server, dir, stop: () => processes.stopAll() };
  } catch (error) {
    await processes.stopAll();
    throw error;
  }
}

function binary(variable: "ETCD" | "KUBE_APISERVER" | "KUBE_CONTROLLER_MANAGER"): string {
  const path = process.env[variable];
  if (path === undefined || !existsSync(path)) {
    throw new NektarError(
      `${variable} is ${path === undefined ? "not set" : `${path}, which does not exist`}: ` +
        "build the control plane with `bash test/system/provision.sh kube` (or run `npm run test:system`)",
    );
  }
  return path;
}

async function waitReady(
  server: string,
  caPath: string,
  token: string,
  processes: Processes,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  for (;;) {
    const dead = processes.exited();
    if (dead !== undefined) throw new NektarError(`the Kubernetes control plane did not start: ${dead}`);
    if (existsSync(caPath)) {
      try {
        const { status, body } = await get(`${server}/readyz`, readFileSync(caPath), token);
        if (status === 200) return;
        last = `${status} ${body}`;
      } catch (error) {
        last = String(error);
      }
    }
    if (Date.now() > deadline) {
      throw new NektarError(
        `kube-apiserver at ${server} was not ready after ${timeoutMs} ms (last /readyz: ${last}):\n` +
          processes.logTail("kube-apiserver"),
      );
    }
    await sleep(200);
  }
}

function get(url: string, ca: Buffer, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** kubeconfig is YAML, and JSON is YAML: no serializer needed. */
function kubeconfig(server: string, ca: Buffer, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "nektar-test", cluster: { server, "certificate-authority-data": ca.toString("base64") } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: "nektar-test", context: { cluster: "nektar-test", user } }],
      "current-context": "nektar-test",
    },
    null,
    2,
  );
}
