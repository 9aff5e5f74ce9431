/**
 * The SSZ containers a validator signs, per fork: Lodestar's `@lodestar/types`.
 *
 * Why not our own definitions: these are the types Lodestar's beacon node and validator client
 * sign and verify with every slot on mainnet, kept current fork by fork (Electra's attestations
 * with `committee_bits`, Fulu, Gloas) by the team that maintains @chainsafe/ssz itself; they also
 * bring the Beacon API JSON mapping (`toJson`/`fromJson`, snake_case and quoted integers). The
 * cost is one package (≈4 MB unpacked, plus @lodestar/params for presets and domain types).
 * Redefining them here would be a second copy of consensus types to keep in step with the specs.
 *
 * What a validator client signs, and where it lives (`ssz.<fork>.<Type>`):
 * - phase0: Fork, ForkData, Checkpoint, AttestationData, Attestation, IndexedAttestation,
 *   BeaconBlockHeader, SigningData, DepositMessage, DepositData, VoluntaryExit,
 *   SignedVoluntaryExit, AggregateAndProof; `ssz.Epoch` and `ssz.Slot` for RANDAO reveals and
 *   selection proofs (both sign a bare uint64).
 * - altair: SyncCommitteeMessage, SyncAggregatorSelectionData, SyncCommitteeContribution,
 *   ContributionAndProof.
 * - bellatrix: ValidatorRegistrationV1 (builder API).
 * - capella: BLSToExecutionChange.
 * - electra: Attestation, IndexedAttestation and AggregateAndProof with `committee_bits`, and
 *   SingleAttestation.
 *
 * Blocks are signed by their header root: hash_tree_root(BeaconBlock) equals the hash_tree_root
 * of its BeaconBlockHeader (the block's slot, proposer_index, parent_root and state_root with
 * body_root = hash_tree_root(body)), so a signer that is handed a header (as Web3Signer's
 * BLOCK_V2 request does) needs no body types; full blocks of every fork are in `ssz.<fork>` when a
 * body must be checked.
 *
 * Lodestar caches the root of some values on the value itself (`cachePermanentRootStruct`:
 * AttestationData, BeaconBlockHeader, blocks, Electra AggregateAndProof, ContributionAndProof):
 * once hashed, such a value must not be mutated. Build a new object instead.
 */
export { ssz, sszTypesFor } from "@lodestar/types";
export type {
  altair,
  bellatrix,
  capella,
  deneb,
  electra,
  fulu,
  phase0,
  BLSPubkey,
  BLSSignature,
  Epoch,
  Root,
  Slot,
  ValidatorIndex,
} from "@lodestar/types";
