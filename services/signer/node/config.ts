/**
 * node.json: what `nektar node --config node.json` runs. The controller writes it for a pod
 * (controller/resources/operator.ts); its shares then come from the key-shares Secret mounted at
 * keySharesDir (services/core/cluster/manifest.ts). Outside Kubernetes (containers, the devnet,
 * tests) a node may run straight from its DKG output folder instead: lockFile, keysDir and
 * passwordFile in place of keySharesDir.
 *
 * The lock says who, the config says where: the cluster lock fixes which peers are admitted, and
 * the addresses it lists are the ones of the DKG (in Kubernetes, the DKG Jobs' pods, gone since).
 * `peers` gives where to dial them now; the controller renders it from the other Operators.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { NektarError } from "../../core/errors.js";
import type { ClusterMember } from "../../core/p2p/host.js";

const Port = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description });
const Path = (description: string) => Type.String({ minLength: 1, maxLength: 4096, description });
const ListenAddress = Type.String({ minLength: 1, maxLength: 255, description: "IP address to listen on (default 0.0.0.0: every interface, as in a pod)." });
const Multiaddr = (description: string) => Type.String({ pattern: "^/(ip4|ip6|dns|dns4|dns6)/[^/]+/tcp/[0-9]+$", maxLength: 256, description });
const HttpUrl = (description: string) => Type.String({ pattern: "^https?://[^\\s]+$", maxLength: 2048, description });

export const NodeConfigSchema = Type.Object(
  {
    network: Type.String({
      minLength: 1,
      maxLength: 64,
      description: "mainnet, hoodi, sepolia, holesky (checked against the beacon nodes), or any other name for a devnet whose fork schedule the beacon nodes give.",
    }),
    beaconNodeUrls: Type.Array(HttpUrl("Beacon node REST API"), { minItems: 1, maxItems: 8, description: "Beacon nodes, tried in order (failover)." }),
    executionUrl: Type.Optional(HttpUrl("Execution client JSON-RPC endpoint (for AVS work; unused by the validator)")),
    p2p: Type.Object(
      {
        port: Port("TCP port libp2p listens on"),
        address: Type.Optional(ListenAddress),
        externalAddress: Type.Optional(Multiaddr("The multiaddr peers dial (the lock's, or the one their `peers` give for this node).")),
      },
      { additionalProperties: false },
    ),
    api: Type.Object({ port: Port("Node API and Web3Signer API port"), address: Type.Optional(ListenAddress) }, { additionalProperties: false }),
    metrics: Type.Object({ port: Port("Prometheus /metrics port"), address: Type.Optional(ListenAddress) }, { additionalProperties: false }),
    identityFile: Path("The operator's p2p identity key (`nektar identity create`)"),
    keySharesDir: Type.Optional(Path("Folder with keyshares.json and the files it names; watched, so new shares load without a restart")),
    lockFile: Type.Optional(Path("A DKG output's cluster-lock.json (instead of keySharesDir)")),
    keysDir: Type.Optional(Path("The DKG output's validator_keys folder")),
    passwordFile: Type.Optional(Path("The password of the keystores in keysDir")),
    dataDir: Path("Where slashing protection is kept: a persistent volume"),
    peers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            peerId: Type.String({ pattern: "^16Uiu2[1-9A-HJ-NP-Za-km-z]{40,58}$", description: "An operator's peer id as the cluster lock lists it (secp256k1, 16Uiu2...)" }),
            multiaddrs: Type.Array(Multiaddr("/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>"), { minItems: 1, maxItems: 8, description: "Where that operator's node is dialed now" }),
          },
          { additionalProperties: false },
        ),
        {
          maxItems: 64,
          description:
            "Where to dial the cluster's operators, in place of the addresses their cluster lock lists (the DKG's). The lock still decides who is admitted: a peer id it does not list is ignored.",
        },
      ),
    ),
    validatorClient: Type.Optional(
      Type.Boolean({
        description: "Whether the node performs its validators' duties itself (default true). False when a validator client uses it as remote signer: both would sign.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type NodeConfig = Static<typeof NodeConfigSchema>;

/** Where the node's shares come from. */
export type SharesSource =
  | { kind: "manifest"; dir: string }
  | { kind: "dkg"; lockFile: string; keysDir: string; passwordFile: string };

export function sharesSource(config: NodeConfig): SharesSource {
  return config.keySharesDir !== undefined
    ? { kind: "manifest", dir: config.keySharesDir }
    : { kind: "dkg", lockFile: config.lockFile!, keysDir: config.keysDir!, passwordFile: config.passwordFile! };
}

/**
 * The lock's operators with the addresses `peers` gives in place of theirs. Peer ids the lock does
 * not list are returned as `unknown`, not admitted: in Kubernetes `peers` names every Operator of
 * the namespace, of which one cluster lock lists only some, so they are expected there.
 */
export function withPeerAddresses(
  operators: readonly ClusterMember[],
  peers: NodeConfig["peers"],
): { members: ClusterMember[]; unknown: string[] } {
  const addresses = new Map((peers ?? []).map((peer) => [peer.peerId, peer.multiaddrs]));
  const members = operators.map((op) => ({ name: op.name, peerId: op.peerId, multiaddrs: addresses.get(op.peerId) ?? op.multiaddrs }));
  const listed = new Set(operators.map((op) => op.peerId));
  return { members, unknown: [...addresses.keys()].filter((peerId) => !listed.has(peerId)) };
}

/**
 * Checks a parsed node.json; `what` names it in errors. Relative paths are resolved against
 * `baseDir` (the file's folder), so a config and its files can move together.
 */
export function parseNodeConfig(value: unknown, what: string, baseDir = process.cwd()): NodeConfig {
  const error = Value.Errors(NodeConfigSchema, value).First();
  if (error) {
    const field = error.path.slice(1).replaceAll("/", ".") || "(top level)";
    throw new NektarError(`${what}: ${field}: ${error.message}${error.schema.description ? ` (${error.schema.description})` : ""}`);
  }
  const config = value as NodeConfig;
  const dkg = [config.lockFile, config.keysDir, config.passwordFile];
  if (config.keySharesDir !== undefined && dkg.some((f) => f !== undefined)) {
    throw new NektarError(`${what}: keySharesDir and lockFile/keysDir/passwordFile are two ways to give shares: set one`);
  }
  if (config.keySharesDir === undefined && dkg.some((f) => f === undefined)) {
    throw new NektarError(`${what}: no shares: set keySharesDir, or lockFile, keysDir and passwordFile (a DKG output folder)`);
  }
  const ports = [["p2p.port", config.p2p.port], ["api.port", config.api.port], ["metrics.port", config.metrics.port]] as const;
  for (const [i, [name, port]] of ports.entries()) {
    const twin = ports.slice(i + 1).find(([, other]) => other === port);
    if (twin) throw new NektarError(`${what}: ${name} and ${twin[0]} are both ${port}`);
  }
  const seen = new Set<string>();
  for (const [i, { peerId }] of (config.peers ?? []).entries()) {
    if (seen.has(peerId)) throw new NektarError(`${what}: peers.${i}.peerId: ${peerId} is listed twice`);
    seen.add(peerId);
  }
  const at = (path: string | undefined) => (path === undefined ? undefined : resolve(baseDir, path));
  return {
    ...config,
    identityFile: at(config.identityFile)!,
    dataDir: at(config.dataDir)!,
    ...(config.keySharesDir !== undefined && { keySharesDir: at(config.keySharesDir) }),
    ...(config.lockFile !== undefined && { lockFile: at(config.lockFile), keysDir: at(config.keysDir), passwordFile: at(config.passwordFile) }),
  };
}

export async function readNodeConfig(path: string): Promise<NodeConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new NektarError(`node config ${path}: cannot read it (${(err as Error).message})`);
  }
  return parseNodeConfig(json, `node config ${path}`, dirname(resolve(path)));
}
