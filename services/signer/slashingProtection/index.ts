export { SlashingProtectionError, SlashingProtectionReason } from "./errors.js";
export { type Interchange, InterchangeSchema, formatInterchange, parseInterchange } from "./interchange.js";
export { FileSlashingProtection, type OpenOptions, type Retention } from "./store.js";
export type { AttestationVote, BlockProposal, ImportSummary, SlashingProtection } from "./types.js";
