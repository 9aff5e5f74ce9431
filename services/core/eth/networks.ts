/**
 * The Ethereum networks nektar knows by name, and custom ones built from a genesis fork version.
 *
 * A network is what a signature commits to besides its message: the fork versions and the
 * genesis validators root enter every signing domain. Values are copied from the client configs
 * (Lodestar's @lodestar/config 1.48 `networks.ts` and its chain configs, which follow
 * eth-clients/{mainnet,hoodi,holesky,sepolia}/metadata/config.yaml) and the deposit settings of
 * ethstaker-deposit-cli (`ethstaker_deposit/settings.py`); networks.test.ts checks the domains they
 * produce against domains published by other tools.
 *
 * Holesky is kept although it was retired in 2025: deposit files and slashing-protection
 * histories made for it still exist and must still verify.
 */
import { ForkName } from "@lodestar/params";
import { NektarError } from "../errors.js";
import { fromHex } from "../hex.js";

export { ForkName };

/** A fork the network has scheduled: from `epoch` on, blocks and signatures use `version`. */
export interface ForkSchedule {
  readonly name: ForkName;
  readonly version: Uint8Array;
  readonly epoch: number;
}

export interface Network {
  /** The name staking-deposit-cli writes as `network_name`, e.g. "mainnet". */
  readonly name: string;
  readonly genesisForkVersion: Uint8Array;
  /** Unknown for a custom network until its beacon node is asked (GET /eth/v1/beacon/genesis). */
  readonly genesisValidatorsRoot?: Uint8Array;
  /** Seconds since the Unix epoch, when known. */
  readonly genesisTime?: number;
  /** Scheduled forks in activation order, starting with phase0 at epoch 0. */
  readonly forks: readonly ForkSchedule[];
}

export type KnownNetworkName = "mainnet" | "hoodi" | "holesky" | "sepolia";

interface NetworkSpec {
  genesisValidatorsRoot: string;
  genesisTime: number;
  forks: readonly [ForkName, version: string, epoch: number][];
}

const SPECS: Record<KnownNetworkName, NetworkSpec> = {
  mainnet: {
    genesisValidatorsRoot: "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95",
    genesisTime: 1606824023,
    forks: [
      [ForkName.phase0, "0x00000000", 0],
      [ForkName.altair, "0x01000000", 74240],
      [ForkName.bellatrix, "0x02000000", 144896],
      [ForkName.capella, "0x03000000", 194048],
      [ForkName.deneb, "0x04000000", 269568],
      [ForkName.electra, "0x05000000", 364032],
      [ForkName.fulu, "0x06000000", 411392],
    ],
  },
  hoodi: {
    genesisValidatorsRoot: "0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f",
    genesisTime: 1742213400,
    forks: [
      [ForkName.phase0, "0x10000910", 0],
      [ForkName.altair, "0x20000910", 0],
      [ForkName.bellatrix, "0x30000910", 0],
      [ForkName.capella, "0x40000910", 0],
      [ForkName.deneb, "0x50000910", 0],
      [ForkName.electra, "0x60000910", 2048],
      [ForkName.fulu, "0x70000910", 50688],
    ],
  },
  holesky: {
    genesisValidatorsRoot: "0x9143aa7c615a7f7115e2b6aac319c03529df8242ae705fba9df39b79c59fa8b1",
    genesisTime: 1695902400,
    forks: [
      [ForkName.phase0, "0x01017000", 0],
      [ForkName.altair, "0x02017000", 0],
      [ForkName.bellatrix, "0x03017000", 0],
      [ForkName.capella, "0x04017000", 256],
      [ForkName.deneb, "0x05017000", 29696],
      [ForkName.electra, "0x06017000", 115968],
      [ForkName.fulu, "0x07017000", 165120],
    ],
  },
  sepolia: {
    genesisValidatorsRoot: "0xd8ea171f3c94aea21ebc42a1ed61052acf3f9209c00e4efbaaddac09ed9b8078",
    genesisTime: 1655733600,
    forks: [
      [ForkName.phase0, "0x90000069", 0],
      [ForkName.altair, "0x90000070", 50],
      [ForkName.bellatrix, "0x90000071", 100],
      [ForkName.capella, "0x90000072", 56832],
      [ForkName.deneb, "0x90000073", 132608],
      [ForkName.electra, "0x90000074", 222464],
      [ForkName.fulu, "0x90000075", 272640],
    ],
  },
};

function fromSpec(name: KnownNetworkName, spec: NetworkSpec): Network {
  const forks = spec.forks.map(([fork, version, epoch]) => ({
    name: fork,
    version: fromHex(version, `${name} ${fork} fork version`, 4),
    epoch,
  }));
  return {
    name,
    genesisForkVersion: forks[0]!.version,
    genesisValidatorsRoot: fromHex(spec.genesisValidatorsRoot, `${name} genesis validators root`, 32),
    genesisTime: spec.genesisTime,
    forks,
  };
}

export const MAINNET = fromSpec("mainnet", SPECS.mainnet);
export const HOODI = fromSpec("hoodi", SPECS.hoodi);
export const HOLESKY = fromSpec("holesky", SPECS.holesky);
export const SEPOLIA = fromSpec("sepolia", SPECS.sepolia);

export const NETWORKS: Readonly<Record<KnownNetworkName, Network>> = {
  mainnet: MAINNET,
  hoodi: HOODI,
  holesky: HOLESKY,
  sepolia: SEPOLIA,
};

export function isKnownNetworkName(name: string): name is KnownNetworkName {
  return Object.hasOwn(NETWORKS, name);
}

/** The known network called `name`; the error lists the names there are. */
export function networkByName(name: string): Network {
  if (!isKnownNetworkName(name)) {
    throw new NektarError(
      `unknown network "${name}": known networks are ${Object.keys(NETWORKS).join(", ")}; ` +
        "for another network give its genesis fork version",
    );
  }
  return NETWORKS[name];
}

/** The known network whose genesis fork version is `version`, if any. */
export function networkByGenesisForkVersion(version: Uint8Array): Network | undefined {
  return Object.values(NETWORKS).find((network) => Buffer.compare(network.genesisForkVersion, version) === 0);
}

export interface CustomNetworkOptions {
  name: string;
  /** 0x-prefixed 4-byte hex, e.g. "0x10000910". */
  genesisForkVersion: string;
  genesisValidatorsRoot?: string;
  genesisTime?: number;
  /** Later forks, e.g. [{ name: ForkName.capella, version: "0x40000910", epoch: 0 }]. */
  forks?: readonly { name: ForkName; version: string; epoch: number }[];
}

/**
 * A devnet or any network nektar has no table for. Deposits need only the genesis fork version;
 * signing duties also need the genesis validators root and the fork schedule.
 */
export function customNetwork(options: CustomNetworkOptions): Network {
  const { name } = options;
  if (isKnownNetworkName(name)) {
    throw new NektarError(`custom network name "${name}" is a known network's name: choose another name`);
  }
  const genesisForkVersion = fromHex(options.genesisForkVersion, `network ${name}: genesis fork version`, 4);
  const forks: ForkSchedule[] = [{ name: ForkName.phase0, version: genesisForkVersion, epoch: 0 }];
  for (const fork of options.forks ?? []) {
    const previous = forks[forks.length - 1]!;
    if (fork.epoch < previous.epoch) {
      throw new NektarError(
        `network ${name}: fork ${fork.name} at epoch ${fork.epoch} precedes ${previous.name} at epoch ${previous.epoch}`,
      );
    }
    forks.push({ name: fork.name, version: fromHex(fork.version, `network ${name}: ${fork.name} fork version`, 4), epoch: fork.epoch });
  }
  return {
    name,
    genesisForkVersion,
    ...(options.genesisValidatorsRoot !== undefined && {
      genesisValidatorsRoot: fromHex(options.genesisValidatorsRoot, `network ${name}: genesis validators root`, 32),
    }),
    ...(options.genesisTime !== undefined && { genesisTime: options.genesisTime }),
    forks,
  };
}

/** The fork in force at `epoch`: the last scheduled fork whose epoch has been reached. */
export function forkAtEpoch(network: Network, epoch: number): ForkSchedule {
  let current = network.forks[0]!;
  for (const fork of network.forks) {
    if (fork.epoch <= epoch) current = fork;
  }
  return current;
}

/** The scheduled fork called `name`; an error if the network has not scheduled it. */
export function forkByName(network: Network, name: ForkName): ForkSchedule {
  const fork = network.forks.find((f) => f.name === name);
  if (!fork) throw new NektarError(`network ${network.name} has no ${name} fork scheduled`);
  return fork;
}
