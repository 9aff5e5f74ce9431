/**
 * `nektar node`: one operator's node, wired from its node.json.
 *
 *   identity ──┐
 *   shares ────┼─> ValidatorNode (services/signer/wire.ts) <── Web3Signer API ── validator clients
 *   beacon ────┤        │                                  <── node API ── controller, kubelet
 *   slashing ──┘        └── metrics
 *
 * The node's API answers from the start (/livez), and is ready once the identity, the shares
 * and a beacon node are there. Shares given as a manifest folder (a mounted Secret) are watched:
 * a change restarts the ValidatorNode with the new set, over the same slashing-protection store,
 * which is opened once for the life of the process.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry, register } from "prom-client";
import { NektarError } from "../../core/errors.js";
import { BeaconClient, BeaconNodes } from "../../core/eth/beacon/index.js";
import { forkAtEpoch, isKnownNetworkName, networkByName, type Network } from "../../core/eth/networks.js";
import { toHex } from "../../core/hex.js";
import type { Logger } from "../../core/log/index.js";
import { ClusterHost } from "../../core/p2p/host.js";
import { type Identity, readIdentityFile } from "../../core/p2p/identity.js";
import { RemoteSignError, RemoteSignFailure, type RemoteSignRequest } from "../remote.js";
import { FileSlashingProtection, formatInterchange, type Interchange } from "../slashingProtection/index.js";
import type { ChainParams } from "../web3signer/requests.js";
import { startValidatorNode, type ValidatorNode } from "../wire.js";
import { buildMetricsServer, buildNodeApi, type HttpServer, listen, type NodeApiBackend, type NodeReport, type Readiness } from "./api.js";
import { type NodeConfig, sharesSource, withPeerAddresses } from "./config.js";
import { type LoadedShares, loadShares } from "./shares.js";
import { folderDigest, type FolderWatcher, watchFolder } from "./watch.js";

export interface RunningNode {
  /** The node API's URL (and the Web3Signer API's). */
  readonly apiUrl: string;
  readonly metricsUrl: string;
  /** Resolves once the identity, network, slashing protection and first shares are loaded. */
  readonly started: Promise<void>;
  /** Stops the validator, the servers and the watcher, and closes slashing protection. Idempotent. */
  stop(): Promise<void>;
}

export interface RunOptions {
  /** A logger per component ("node", "api", "signer"), e.g. `(c) => createLogger(c)`. */
  logger: (component: string) => Logger;
  /** How often the shares folder is compared without a change event (default 10 s). */
  sharesPollMs?: number;
}

/** How long a beacon node check is trusted by /readyz, so probes do not hammer it. */
const BEACON_CHECK_TTL_MS = 5_000;
const NETWORK_RETRY_MS = 2_000;

export async function runNode(config: NodeConfig, options: RunOptions): Promise<RunningNode> {
  const node = new NodeRuntime(config, options);
  await node.listen();
  const started = node.start();
  started.catch(() => undefined); // the caller awaits it; not an unhandled rejection meanwhile
  return { apiUrl: node.apiUrl, metricsUrl: node.metricsUrl, started, stop: () => node.stop() };
}

class NodeRuntime implements NodeApiBackend {
  private readonly log: Logger;
  private readonly beacon: BeaconNodes;
  private readonly client: BeaconClient;
  private readonly api;
  private readonly metrics;
  private apiServer: HttpServer | undefined;
  private metricsServer: HttpServer | undefined;
  private identity: Identity | undefined;
  private network: Network | undefined;
  private chainParams: ChainParams | undefined;
  private slashing: FileSlashingProtection | undefined;
  private loaded: LoadedShares | undefined;
  private sharesError: string | undefined;
  /** Whether the first load of the shares is done (whatever its outcome). */
  private sharesLoaded = false;
  private validator: ValidatorNode | undefined;
  /** The node's own metrics, for the life of the process. */
  private readonly nodeRegistry = new Registry();
  /** The signer's, replaced with the signer on every change of shares. */
  private registry = new Registry();
  private readonly shareLoads: Counter<"result">;
  private readonly keyShares: Gauge;
  private watcher: FolderWatcher | undefined;
  private beaconCheck: { at: number; ok: boolean; message?: string } | undefined;
  private stopping: Promise<void> | undefined;
  /** Reloads and stop() take turns: a ValidatorNode is never started while another runs. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: NodeConfig,
    private readonly options: RunOptions,
  ) {
    this.log = options.logger("node");
    this.beacon = new BeaconNodes(config.beaconNodeUrls);
    this.client = new BeaconClient(this.beacon);
    this.shareLoads = new Counter({
      name: "nektar_node_key_share_loads_total",
      help: "Loads of the key shares (at start and on every change of the shares folder), by result: loaded, unchanged, refused",
      labelNames: ["result"],
      registers: [this.nodeRegistry],
    });
    this.keyShares = new Gauge({ name: "nektar_node_key_shares", help: "Validators this node signs for", registers: [this.nodeRegistry] });
    this.api = buildNodeApi(this, options.logger("api"), this.nodeRegistry);
    this.metrics = buildMetricsServer(() => [this.nodeRegistry, this.registry], options.logger("metrics"));
  }

  get apiUrl(): string {
    return this.apiServer!.url;
  }

  get metricsUrl(): string {
    return this.metricsServer!.url;
  }

  async listen(): Promise<void> {
    // Once per process: several nodes may run in one (tests).
    if (register.getSingleMetric("process_cpu_user_seconds_total") === undefined) collectDefaultMetrics();
    this.apiServer = await listen(this.api, this.config.api);
    this.metricsServer = await listen(this.metrics, this.config.metrics).catch(async (err: unknown) => {
      await this.apiServer!.close();
      throw err;
    });
    this.log.info({ api: this.apiServer.url, metrics: this.metricsServer.url }, "node API listening");
  }

  async start(): Promise<void> {
    try {
      this.identity = await readIdentityFile(this.config.identityFile);
      this.log.info({ peerId: this.identity.peerId.toString() }, "identity loaded");
      this.network = await this.waitForNetwork();
      const slashing = await FileSlashingProtection.open(this.config.dataDir, { genesisValidatorsRoot: this.network.genesisValidatorsRoot });
      if (this.stopping) {
        // stop() came while the store was opening, and found none to close.
        await slashing.close();
        throw new NektarError("the node stopped while starting");
      }
      this.slashing = slashing;
      const source = sharesSource(this.config);
      const digest = source.kind === "manifest" ? await folderDigest(source.dir) : "";
      await this.reload();
      this.sharesLoaded = true;
      // A DKG folder does not change under a running node: what is wrong with it now stays wrong.
      if (source.kind === "dkg" && this.sharesError !== undefined) throw new NektarError(this.sharesError);
      if (source.kind === "manifest" && this.stopping === undefined) {
        this.watcher = watchFolder(source.dir, digest, () => this.reload(), { pollMs: this.options.sharesPollMs });
      }
    } catch (err) {
      this.log.error({ err }, "the node could not start");
      throw err;
    }
  }

  /** The network from the beacon nodes, waiting for one to answer; a known name must match it. */
  private async waitForNetwork(): Promise<Network> {
    for (;;) {
      if (this.stopping) throw new NektarError("the node stopped before a beacon node answered");
      try {
        const [network, spec] = await Promise.all([this.client.network(), this.client.spec()]);
        const name = this.config.network;
        if (isKnownNetworkName(name) && toHex(networkByName(name).genesisForkVersion) !== toHex(network.genesisForkVersion)) {
          throw new NektarError(`network: ${name}, but the beacon nodes follow ${network.name} (genesis fork version ${toHex(network.genesisForkVersion)}): check beaconNodeUrls`);
        }
        this.chainParams = { slotsPerEpoch: Number(spec.SLOTS_PER_EPOCH), genesisForkVersion: network.genesisForkVersion, forkAtEpoch: (epoch) => forkAtEpoch(network, epoch).name };
        this.log.info({ network: network.name, genesisForkVersion: toHex(network.genesisForkVersion) }, "beacon node answered");
        return network;
      } catch (err) {
        if (err instanceof NektarError && err.message.startsWith("network:")) throw err;
        this.log.warn({ err: (err as Error).message }, "waiting for a beacon node");
        await new Promise((resolve) => setTimeout(resolve, NETWORK_RETRY_MS));
      }
    }
  }

  /** Loads the shares and, if they changed, restarts the ValidatorNode with them. A bad set keeps the running one. */
  private reload(): Promise<void> {
    const next = this.turn.then(async () => {
      if (this.stopping) return;
      let loaded: LoadedShares | undefined;
      try {
        loaded = await loadShares(sharesSource(this.config), this.identity!);
      } catch (err) {
        this.shareLoads.inc({ result: "refused" });
        this.sharesError = (err as Error).message;
        this.log.error({ err: this.sharesError }, this.validator ? "new shares refused; the node keeps signing with the ones it has" : "shares refused");
        if (!(err instanceof NektarError)) throw err;
        return;
      }
      this.sharesError = undefined;
      if (loaded?.fingerprint === this.loaded?.fingerprint) {
        this.shareLoads.inc({ result: "unchanged" });
        this.loaded = loaded; // names may have changed
        return;
      }
      this.shareLoads.inc({ result: "loaded" });
      await this.stopValidator();
      this.loaded = undefined;
      this.keyShares.set(0);
      if (loaded === undefined) {
        this.log.info("no key shares yet");
        return;
      }
      this.registry = new Registry();
      const signerLog = this.options.logger("signer");
      try {
        this.validator = await startValidatorNode({
          lock: loaded.lock,
          operatorIndex: loaded.operatorIndex,
          shares: loaded.shares,
          p2p: this.clusterHost(loaded, signerLog),
          beacon: this.beacon,
          slashingProtection: this.slashing!,
          logger: signerLog,
          registry: this.registry,
          validatorClient: this.config.validatorClient ?? true,
        });
      } catch (err) {
        // Not recorded as loaded: the next change of the folder, even back to these shares, tries again.
        this.sharesError = `the signer did not start: ${(err as Error).message}`;
        this.log.error({ err }, "the signer did not start");
        return;
      }
      this.loaded = loaded;
      this.keyShares.set(loaded.shares.length);
      this.checkExternalAddress(loaded);
      this.log.info({ cluster: loaded.lock.definition.name, lockHash: loaded.lock.lockHash, validators: loaded.shares.length, shareIndex: loaded.operatorIndex + 1 }, "key shares loaded");
    });
    this.turn = next.catch(() => undefined);
    return next;
  }

  /** The p2p host among the lock's operators, dialing them where node.json's `peers` says, else where the lock does. */
  private clusterHost(loaded: LoadedShares, log: Logger): ClusterHost {
    const { members, unknown } = withPeerAddresses(loaded.lock.definition.operators, this.config.peers);
    if (unknown.length > 0) this.log.warn({ peerIds: unknown }, "peers not in this cluster lock are not dialed nor admitted");
    const listen = [listenAddress(this.config.p2p.address ?? "0.0.0.0", this.config.p2p.port)];
    return new ClusterHost({ identity: this.identity!, operators: members, listen, registry: this.registry, logger: log });
  }

  /**
   * Without `peers`, peers dial the addresses in the lock: an externalAddress that is not one of
   * them is a misconfiguration worth saying. With `peers` (Kubernetes), theirs say where this node is.
   */
  private checkExternalAddress(loaded: LoadedShares): void {
    const external = this.config.p2p.externalAddress;
    if (this.config.peers !== undefined) return;
    const listed = loaded.lock.definition.operators[loaded.operatorIndex]!.multiaddrs;
    if (external !== undefined && !listed.includes(external)) {
      this.log.warn({ externalAddress: external, lockMultiaddrs: listed }, "p2p.externalAddress is not among this operator's addresses in the cluster lock: peers dial the lock's");
    }
  }

  private async stopValidator(): Promise<void> {
    const validator = this.validator;
    this.validator = undefined;
    await validator?.stop();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.watcher?.close();
      this.turn = this.turn.then(() => this.stopValidator());
      await this.turn;
      await Promise.allSettled([this.apiServer?.close(), this.metricsServer?.close()]);
      await this.slashing?.close();
      this.log.info("node stopped");
    })();
    return this.stopping;
  }

  // --- NodeApiBackend ---------------------------------------------------------------------

  report(): NodeReport {
    const names = new Map(this.loaded?.lock.validators.map((v, i) => [v.pubkey, this.loaded!.names[i]!]) ?? []);
    return {
      peerId: this.identity?.peerId.toString() ?? "",
      connectedPeers: this.validator?.connectedPeers().length ?? 0,
      keyShares: (this.validator?.keyShares() ?? []).map((share) => ({
        name: names.get(share.validatorPubkey) ?? share.validatorPubkey,
        ...(share.lastDuty && { lastDuty: { slot: share.lastDuty.slot, type: share.lastDuty.type } }),
      })),
    };
  }

  async readiness(): Promise<Readiness> {
    const beacon = await this.checkBeacon();
    // Signing with the shares it has is ready, even when newer ones were refused (said in the message).
    const refused = this.sharesError === undefined ? "" : `; the latest shares were refused: ${this.sharesError}`;
    const checks: Readiness["checks"] = {
      identity: this.identity ? { ok: true } : { ok: false, message: "not loaded yet" },
      shares: !this.sharesLoaded
        ? { ok: false, message: "not loaded yet" }
        : this.validator !== undefined || this.sharesError === undefined
          ? { ok: true, message: `${this.loaded?.shares.length ?? 0} validators${refused}` }
          : { ok: false, message: this.sharesError },
      beacon,
    };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  private async checkBeacon(): Promise<{ ok: boolean; message?: string }> {
    const now = Date.now();
    if (this.beaconCheck && now - this.beaconCheck.at < BEACON_CHECK_TTL_MS) return this.beaconCheck;
    let result: { ok: boolean; message?: string };
    try {
      result = { ok: true, message: await this.client.health() };
    } catch (err) {
      result = { ok: false, message: (err as Error).message };
    }
    this.beaconCheck = { at: now, ...result };
    return result;
  }

  async slashingProtection(pubkey: string): Promise<Interchange> {
    if (!this.slashing || !this.loaded?.lock.validators.some((v) => v.pubkey === pubkey)) {
      throw new NektarError(`pubkey ${pubkey}: this node holds no share of it`);
    }
    try {
      return formatInterchange(await this.slashing.exportInterchange([pubkey]));
    } catch (err) {
      if (!(err instanceof NektarError)) throw err;
      // A share that has signed nothing yet has an empty history, not none.
      return formatInterchange({ genesisValidatorsRoot: toHex(this.network!.genesisValidatorsRoot!), validators: [{ pubkey, blocks: [], attestations: [] }] });
    }
  }

  publicKeys(): string[] {
    return this.validator ? (this.loaded?.lock.validators.map((v) => v.pubkey) ?? []) : [];
  }

  chain(): ChainParams | undefined {
    return this.chainParams;
  }

  remoteSign(request: RemoteSignRequest): Promise<Uint8Array> {
    if (!this.validator) return Promise.reject(new RemoteSignError(RemoteSignFailure.UnknownValidator, "this node has no key shares loaded"));
    return this.validator.remoteSign(request);
  }
}

function listenAddress(address: string, port: number): string {
  return `/${address.includes(":") ? "ip6" : "ip4"}/${address}/tcp/${port}`;
}
