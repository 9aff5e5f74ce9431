/**
 * Plays the kubelet for a pod of the test cluster, which has none: its volumes are materialized
 * from the API server (ConfigMaps, Secrets, emptyDirs) into a temp dir, and its containers' args
 * run as `nektar` processes from the sources, each path under a mount rewritten to where the
 * volume is. The process has the pod's IP and the cluster's DNS names (network.mjs). What runs
 * is exactly the pod spec the API server holds, as the kubelet would read it.
 */
import { ApiException, CoreV1Api, type KubeConfig, type V1Container, type V1Pod } from "@kubernetes/client-node";
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export interface ContainerExit {
  code: number | null;
  /** stdout and stderr, interleaved. */
  output: string;
}

export class LocalPod {
  private readonly running = new Set<ChildProcess>();

  constructor(
    private readonly kc: KubeConfig,
    readonly pod: V1Pod,
    private readonly options: {
      /** Where the volumes go (one folder each). */
      dir: string;
      /** The pod's IP, a loopback address of its own. */
      ip: string;
      /** The cluster's DNS names: name -> IP. */
      hosts: Record<string, string>;
    },
  ) {}

  get name(): string {
    return this.pod.metadata!.name!;
  }

  /** The folder of volume `name`'s files. */
  volumeDir(volume: string): string {
    return join(this.options.dir, this.name, volume);
  }

  /** Writes every volume's files, as the kubelet mounts them (items, modes). */
  async materialize(): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    const namespace = this.pod.metadata!.namespace!;
    for (const volume of this.pod.spec!.volumes ?? []) {
      const dir = this.volumeDir(volume.name);
      await mkdir(dir, { recursive: true });
      let files: Record<string, Buffer> = {};
      let mode = 0o644;
      let items: { key: string; path: string }[] | undefined;
      if (volume.configMap) {
        const configMap = await mounted(() => core.readNamespacedConfigMap({ namespace, name: volume.configMap!.name! }));
        files = Object.fromEntries(Object.entries(configMap.data ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
        items = volume.configMap.items;
        mode = volume.configMap.defaultMode ?? mode;
      } else if (volume.secret) {
        const secret = await mounted(() => core.readNamespacedSecret({ namespace, name: volume.secret!.secretName! }));
        files = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));
        items = volume.secret.items;
        mode = volume.secret.defaultMode ?? mode;
      } else if (volume.projected) {
        // The ServiceAccount's token, CA and namespace (kube-api-access-*), bound to this pod as the kubelet binds it.
        for (const source of volume.projected.sources ?? []) {
          if (source.serviceAccountToken) {
            const { status } = await core.createNamespacedServiceAccountToken({
              namespace,
              name: this.pod.spec!.serviceAccountName!,
              body: { spec: { audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : [], expirationSeconds: source.serviceAccountToken.expirationSeconds, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: this.name, uid: this.pod.metadata!.uid } } },
            });
            files[source.serviceAccountToken.path] = Buffer.from(status!.token);
          } else if (source.configMap) {
            const configMap = await mounted(() => core.readNamespacedConfigMap({ namespace, name: source.configMap!.name! }));
            for (const { key, path } of source.configMap.items ?? []) files[path] = Buffer.from(configMap.data![key]!);
          } else if (source.downwardAPI) {
            for (const item of source.downwardAPI.items ?? []) {
              if (item.fieldRef?.fieldPath !== "metadata.namespace") throw new Error(`pod ${this.name}: downward API field ${item.fieldRef?.fieldPath} is not mounted here`);
              files[item.path] = Buffer.from(namespace);
            }
          }
        }
        mode = volume.projected.defaultMode ?? mode;
      } else if (!volume.emptyDir) {
        throw new Error(`pod ${this.name}: volume ${volume.name} is of a kind this kubelet does not mount`);
      }
      const entries = items ? items.map(({ key, path }) => [path, files[key]] as const) : Object.entries(files);
      for (const [path, content] of entries) {
        if (content === undefined) throw new Error(`pod ${this.name}: volume ${volume.name} has no key for ${path}`);
        const file = join(dir, path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
        // Owner-readable at least: the test runs as whoever it runs as, not as the pod's uid.
        await chmod(file, mode | 0o400);
      }
    }
  }

  /** Runs one of the pod's containers (init or not) to its exit; killed after `timeoutMs`. */
  async run(containerName: string, options: { env?: Record<string, string>; timeoutMs: number }): Promise<ContainerExit> {
    const container = [...(this.pod.spec!.initContainers ?? []), ...this.pod.spec!.containers].find((c) => c.name === containerName);
    if (container === undefined) throw new Error(`pod ${this.name} has no container ${containerName}`);
    const args = (container.args ?? []).map((arg) => this.hostPath(container, arg));
    const env: Record<string, string> = { NEKTAR_POD_IP: this.options.ip, NEKTAR_POD_HOSTS: JSON.stringify(this.options.hosts) };
    for (const { name, value } of container.env ?? []) if (value !== undefined) env[name] = value;
    // The sources run through the devnet tests' swc module hooks (no `npm run build` needed).
    const child = spawn(process.execPath, ["--import", here("../../../devnet/register.mjs"), "--import", here("./network.mjs"), here("./nektar.mjs"), ...args], {
      env: { ...process.env, ...env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.running.add(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)));
    clearTimeout(timer);
    this.running.delete(child);
    return { code, output };
  }

  /** Kills what still runs. */
  stop(): void {
    for (const child of this.running) child.kill("SIGKILL");
  }

  /** `arg` with a path under one of the container's mounts moved to the volume's folder. */
  private hostPath(container: V1Container, arg: string): string {
    const mount = (container.volumeMounts ?? [])
      .filter((m) => arg === m.mountPath || arg.startsWith(`${m.mountPath}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    return mount === undefined ? arg : this.volumeDir(mount.name) + arg.slice(mount.mountPath.length);
  }
}

/**
 * A volume's source object, waited for as the kubelet waits (the pod stays ContainerCreating):
 * some appear after the pod, e.g. kube-root-ca.crt, which kube-controller-manager publishes into
 * each new namespace.
 */
async function mounted<T>(read: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
