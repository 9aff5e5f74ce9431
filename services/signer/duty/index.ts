/** Every duty kind, by type. */
import type { DutyType } from "../duties.js";
import { aggregator, attester, prepareAggregator } from "./attestation.js";
import type { DutyKind } from "./kind.js";
import { proposer, randao } from "./proposal.js";
import { builderRegistration, voluntaryExit } from "./registration.js";
import { prepareSyncContribution, syncContribution, syncMessage } from "./sync.js";

export const KINDS: ReadonlyMap<DutyType, DutyKind> = new Map(
  ([attester, prepareAggregator, aggregator, randao, proposer, syncMessage, prepareSyncContribution, syncContribution, builderRegistration, voluntaryExit] as DutyKind[]).map((k) => [k.type, k]),
);

export { type Duty, type DutyKind, type KindContext, type Recovered, type Unsigned, InvalidDataError } from "./kind.js";
export { FetchError } from "./errors.js";
