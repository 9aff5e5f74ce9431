/**
 * The DKG service wired: a ClusterHost among the definition's operators, the ceremony over it,
 * and the output folder. What `nektar dkg` and `nektar reshare` run.
 */
import { multiaddr } from "@multiformats/multiaddr";
import { Registry } from "prom-client";
import type { KdfParams } from "../core/crypto/index.js";
import { NektarError } from "../core/errors.js";
import type { LevelWithSilent } from "pino";
import { createLogger } from "../core/log/index.js";
import type { ClusterDefinition } from "../core/p2p/definition.js";
import { ClusterHost } from "../core/p2p/host.js";
import type { Identity } from "../core/p2p/identity.js";
import { type CeremonyResult, type Progress, type Timeouts, runCeremony } from "./ceremony.js";
import { ClusterHostNetwork } from "./libp2p.js";
import type { ClusterLock } from "../core/cluster/lock.js";
import { readKeyShares } from "../core/cluster/shares.js";
import { checkOutputFolder, writeCeremonyOutput } from "./output.js";

export interface DkgOptions {
  /** Signed by every operator (for resharing: the new definition). */
  definition: ClusterDefinition;
  identity: Identity;
  /** The new output folder. */
  outDir: string;
  /** Of the new keystores. */
  password: string;
  kdf?: KdfParams;
  /** Addresses to listen on; default: listenAddresses(). */
  listen?: string[];
  timeouts?: Partial<Timeouts>;
  onProgress?: (progress: Progress) => void;
  /** Of the ceremony's and the host's logs; default: NEKTAR_LOG_LEVEL's. */
  logLevel?: LevelWithSilent;
  signal?: AbortSignal;
  /** Resharing: the current lock, and where this operator's keystores of it are, if it holds some. */
  reshare?: { lock: ClusterLock; keysDir?: string; keysPassword?: string };
}

/** Runs a DKG (or a resharing) to completion and writes its output; throws, writing nothing, if it fails. */
export async function runDkg(options: DkgOptions): Promise<CeremonyResult> {
  const { definition, identity } = options;
  await checkOutputFolder(options.outDir);
  const self = definition.operators.find((op) => op.peerId === identity.peerId.toString());
  const reshare = options.reshare === undefined ? undefined : { lock: options.reshare.lock, shares: await oldShares(options.reshare, identity) };

  const host = new ClusterHost({
    identity,
    operators: definition.operators,
    listen: options.listen ?? (self === undefined ? [] : listenAddresses(self.multiaddrs)),
    registry: new Registry(),
    logger: createLogger("p2p", { level: options.logLevel }),
  });
  const network = new ClusterHostNetwork(host);
  let result: CeremonyResult;
  await host.start();
  try {
    const { timeouts, onProgress, signal } = options;
    const logger = createLogger("dkg", { level: options.logLevel });
    result = await runCeremony({ definition, identity, network, reshare, timeouts, onProgress, logger, signal });
  } finally {
    await host.stop();
  }
  await writeCeremonyOutput(options.outDir, result, { password: options.password, kdf: options.kdf });
  return result;
}

/**
 * Where a node listens, from its addresses in the definition: an IP address as given; a DNS
 * name (a Kubernetes Service, say) on every interface at its port.
 */
export function listenAddresses(multiaddrs: readonly string[]): string[] {
  return multiaddrs.map((addr) => {
    const [host, tcp] = multiaddr(addr).getComponents();
    return host!.name === "ip4" || host!.name === "ip6" ? addr : `/ip4/0.0.0.0/tcp/${tcp!.value}`;
  });
}

/** This operator's shares in the lock being reshared, if it is one of its operators. */
async function oldShares(reshare: NonNullable<DkgOptions["reshare"]>, identity: Identity): Promise<bigint[] | undefined> {
  const index = reshare.lock.definition.operators.findIndex((op) => op.peerId === identity.peerId.toString());
  if (index < 0) return undefined;
  if (reshare.keysDir === undefined || reshare.keysPassword === undefined) {
    throw new NektarError(
      `this operator holds share ${index + 1} of the cluster being reshared: give the folder of its keystores (validator_keys in the output of its DKG) and their password`,
    );
  }
  return readKeyShares(reshare.keysDir, reshare.lock, index + 1, reshare.keysPassword);
}
