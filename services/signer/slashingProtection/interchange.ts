/**
 * EIP-3076 slashing protection interchange, format version 5: the schema (TypeBox), its parsing
 * with errors naming the entry and field, and the conversion to and from records.
 */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { NektarError } from "../../core/errors.js";
import type { AttestationRecord } from "./attestation.js";
import type { BlockRecord } from "./block.js";

const Uint64 = Type.String({ pattern: "^[0-9]{1,20}$", description: "decimal uint64" });
const Root = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });

export const InterchangeSchema = Type.Object({
  metadata: Type.Object({
    interchange_format_version: Type.Literal("5"),
    genesis_validators_root: Root,
  }),
  data: Type.Array(
    Type.Object({
      pubkey: Type.String({ pattern: "^0x[0-9a-fA-F]{96}$" }),
      signed_blocks: Type.Array(Type.Object({ slot: Uint64, signing_root: Type.Optional(Root) })),
      signed_attestations: Type.Array(Type.Object({ source_epoch: Uint64, target_epoch: Uint64, signing_root: Type.Optional(Root) })),
    }),
  ),
});
export type Interchange = Static<typeof InterchangeSchema>;

/** One validator's history in an interchange, parsed. Pubkey and roots are lowercase hex. */
export interface ValidatorInterchange {
  pubkey: string;
  blocks: BlockRecord[];
  attestations: AttestationRecord[];
}

export interface ParsedInterchange {
  genesisValidatorsRoot: string;
  validators: ValidatorInterchange[];
}

/** Checks an interchange document (parsed JSON); `what` names it in errors, e.g. the file. */
export function parseInterchange(value: unknown, what: string): ParsedInterchange {
  if (!Value.Check(InterchangeSchema, value)) {
    const byField = new Map<string, string>();
    for (const e of Value.Errors(InterchangeSchema, value)) {
      if (!byField.has(e.path)) byField.set(e.path, `${e.path.slice(1) || "(top level)"}: ${e.message}`);
    }
    throw new NektarError(`${what}: not an EIP-3076 v5 interchange: ${[...byField.values()].slice(0, 3).join("; ")}`);
  }
  const number = (s: string, field: string): number => {
    const n = Number(s);
    // Slots and epochs this large are 2^53 * 12 seconds away; anything above is a corrupt file.
    if (!Number.isSafeInteger(n)) throw new NektarError(`${what}: ${field}: ${s} is beyond any reachable slot or epoch`);
    return n;
  };
  const root = (s: string | undefined): string | null => (s === undefined ? null : s.toLowerCase());
  return {
    genesisValidatorsRoot: value.metadata.genesis_validators_root.toLowerCase(),
    validators: value.data.map((v, i) => ({
      pubkey: v.pubkey.toLowerCase(),
      blocks: v.signed_blocks.map((b, j) => ({
        slot: number(b.slot, `data/${i}/signed_blocks/${j}/slot`),
        signingRoot: root(b.signing_root),
      })),
      attestations: v.signed_attestations.map((a, j) => ({
        sourceEpoch: number(a.source_epoch, `data/${i}/signed_attestations/${j}/source_epoch`),
        targetEpoch: number(a.target_epoch, `data/${i}/signed_attestations/${j}/target_epoch`),
        signingRoot: root(a.signing_root),
      })),
    })),
  };
}

/** The interchange document for `validators`. */
export function formatInterchange(parsed: ParsedInterchange): Interchange {
  const root = (r: string | null) => (r === null ? {} : { signing_root: r });
  return {
    metadata: { interchange_format_version: "5", genesis_validators_root: parsed.genesisValidatorsRoot },
    data: parsed.validators.map((v) => ({
      pubkey: v.pubkey,
      signed_blocks: v.blocks.map((b) => ({ slot: String(b.slot), ...root(b.signingRoot) })),
      signed_attestations: v.attestations.map((a) => ({
        source_epoch: String(a.sourceEpoch),
        target_epoch: String(a.targetEpoch),
        ...root(a.signingRoot),
      })),
    })),
  };
}
