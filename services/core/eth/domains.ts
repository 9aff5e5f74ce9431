/**
 * Signing domains and signing roots (consensus-specs phase0 "compute_domain",
 * "compute_signing_root"; builder-specs "compute_builder_domain"; EIP-7044 for exits).
 *
 * A BLS signature in Ethereum signs hash_tree_root(SigningData{object_root, domain}); the domain
 * binds it to one purpose (domain type) and one chain (fork version, genesis validators root), so
 * a signature made for an attestation on one network is worthless as anything else.
 */
import type { Type } from "@chainsafe/ssz";
import { DOMAIN_APPLICATION_BUILDER, DOMAIN_DEPOSIT, DOMAIN_VOLUNTARY_EXIT, ForkName } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { NektarError } from "../errors.js";
import { forkAtEpoch, forkByName, type Network } from "./networks.js";

/**
 * Domain types as the specs number them (phase0, altair, capella, builder-specs). Deposits
 * and builder registrations are the two signed with the genesis fork version and a zero genesis
 * validators root, because they must verify before (or regardless of) the chain's state.
 */
export {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_APPLICATION_BUILDER,
  DOMAIN_APPLICATION_MASK,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_BLS_TO_EXECUTION_CHANGE,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_DEPOSIT,
  DOMAIN_RANDAO,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  DOMAIN_VOLUNTARY_EXIT,
} from "@lodestar/params";

const ZERO_ROOT = new Uint8Array(32);

/** compute_fork_data_root: hash_tree_root(ForkData{current_version, genesis_validators_root}). */
export function computeForkDataRoot(currentVersion: Uint8Array, genesisValidatorsRoot: Uint8Array): Uint8Array {
  checkLength(currentVersion, 4, "fork version");
  checkLength(genesisValidatorsRoot, 32, "genesis validators root");
  return ssz.phase0.ForkData.hashTreeRoot({ currentVersion, genesisValidatorsRoot });
}

/** compute_domain: domain_type (4 bytes) ‖ the first 28 bytes of the fork data root. */
export function computeDomain(
  domainType: Uint8Array,
  forkVersion: Uint8Array,
  genesisValidatorsRoot: Uint8Array,
): Uint8Array {
  checkLength(domainType, 4, "domain type");
  const domain = new Uint8Array(32);
  domain.set(domainType, 0);
  domain.set(computeForkDataRoot(forkVersion, genesisValidatorsRoot).subarray(0, 28), 4);
  return domain;
}

/** compute_signing_root: hash_tree_root(SigningData{hash_tree_root(value), domain}). */
export function computeSigningRoot<T>(type: Type<T>, value: T, domain: Uint8Array): Uint8Array {
  checkLength(domain, 32, "domain");
  return ssz.phase0.SigningData.hashTreeRoot({ objectRoot: type.hashTreeRoot(value), domain });
}

/**
 * The deposit domain: the genesis fork version with a zero genesis validators root (deposits
 * are verified before genesis and by the deposit contract's users, who know no such root).
 */
export function computeDepositDomain(genesisForkVersion: Uint8Array): Uint8Array {
  return computeDomain(DOMAIN_DEPOSIT, genesisForkVersion, ZERO_ROOT);
}

/** builder-specs compute_builder_domain: like deposits, genesis fork version and a zero root. */
export function computeBuilderDomain(genesisForkVersion: Uint8Array): Uint8Array {
  return computeDomain(DOMAIN_APPLICATION_BUILDER, genesisForkVersion, ZERO_ROOT);
}

/**
 * get_domain for a message of `epoch`: the fork version in force at that epoch and the
 * network's genesis validators root. Used for every duty signed against the chain's state
 * (attestations, blocks, RANDAO, aggregation, sync committee).
 */
export function computeDomainAtEpoch(network: Network, domainType: Uint8Array, epoch: number): Uint8Array {
  return computeDomain(domainType, forkAtEpoch(network, epoch).version, requireGenesisValidatorsRoot(network));
}

/**
 * The voluntary exit domain from Deneb on (EIP-7044): always the Capella fork version, so a
 * pre-signed exit stays valid across later forks. Every network in networks.ts is past Deneb;
 * a chain still before Deneb would use computeDomainAtEpoch(network, DOMAIN_VOLUNTARY_EXIT, epoch).
 */
export function computeVoluntaryExitDomain(network: Network): Uint8Array {
  return computeDomain(
    DOMAIN_VOLUNTARY_EXIT,
    forkByName(network, ForkName.capella).version,
    requireGenesisValidatorsRoot(network),
  );
}

function requireGenesisValidatorsRoot(network: Network): Uint8Array {
  if (!network.genesisValidatorsRoot) {
    throw new NektarError(
      `network ${network.name} has no genesis validators root: give it (GET /eth/v1/beacon/genesis on its beacon node)`,
    );
  }
  return network.genesisValidatorsRoot;
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new NektarError(`${what}: expected ${length} bytes, got ${bytes.length}`);
}
