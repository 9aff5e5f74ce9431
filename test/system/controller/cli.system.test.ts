import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { createServer } from "node:net";
import { main } from "../../../services/cli/main.js";
import { createNamespace, eventually, installCrds, startCluster, type TestCluster } from "./cluster.js";

describe("nektar controller run", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster();
    await installCrds(cluster.kc);
    await createNamespace(cluster.kc, "nektar-system");
  }, 120_000);
  afterAll(() => cluster?.stop());

  it("leads, serves its probes, and on SIGTERM releases the Lease and exits 0", async () => {
    const port = await freePort();
    const exit = main([
      "controller", "run",
      "--kubeconfig", cluster.kube.kubeconfigPath,
      "--identity", "cli-test",
      "--node-image", "ghcr.io/nektar/nektar:test",
      "--probe-address", `127.0.0.1:${port}`,
    ]);
    const leases = cluster.kc.makeApiClient(CoordinationV1Api);
    await eventually(async () => {
      const lease = await leases.readNamespacedLease({ namespace: "nektar-system", name: "nektar-controller" });
      if (lease.spec?.holderIdentity !== "cli-test") throw new Error("not leading");
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status !== 200) throw new Error("not ready");
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^nektar_controller_leader 1$/m);

    process.emit("SIGTERM");
    expect(await exit).toBe(0);
    const lease = await leases.readNamespacedLease({ namespace: "nektar-system", name: "nektar-controller" });
    expect(lease.spec?.holderIdentity).toBe("");
  });

  it("names the kubeconfig it cannot load", async () => {
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(await main(["controller", "run", "--kubeconfig", "/nonexistent/kubeconfig", "--node-image", "x"])).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join("")).toMatch(/--kubeconfig \/nonexistent\/kubeconfig: cannot load/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
