/**
 * The EIP-3076 interchange test vectors (eth-clients/slashing-protection-interchange-tests):
 * each step imports an interchange into the store, then tries blocks and attestations.
 */
import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NektarError } from "../../core/errors.js";
import { fromHex } from "../../core/hex.js";
import { SlashingProtectionError } from "./errors.js";
import { parseInterchange } from "./interchange.js";
import { FileSlashingProtection } from "./store.js";

interface Vector {
  name: string;
  genesis_validators_root: string;
  steps: {
    should_succeed: boolean;
    interchange: unknown;
    blocks: { pubkey: string; slot: string; signing_root?: string; should_succeed: boolean }[];
    attestations: { pubkey: string; source_epoch: string; target_epoch: string; signing_root?: string; should_succeed: boolean }[];
  }[];
}

const dir = "services/signer/slashingProtection/testdata/interchange-tests";
const vectors = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Vector);
// A missing signing root in an attempt: the vectors mean "some root", which never matches a record.
const ZERO_ROOT = new Uint8Array(32);

async function outcome(attempt: () => Promise<void>): Promise<boolean> {
  try {
    await attempt();
    return true;
  } catch (err) {
    if (!(err instanceof SlashingProtectionError)) throw err;
    return false;
  }
}

describe("EIP-3076 interchange test vectors", () => {
  it("has the vectors", () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
  });

  for (const vector of vectors) {
    it(vector.name, async () => {
      const store = await FileSlashingProtection.open(mkdtempSync(join(tmpdir(), "nektar-sp-")), {
        genesisValidatorsRoot: fromHex(vector.genesis_validators_root, "genesis_validators_root", 32),
      });
      try {
        for (const [i, step] of vector.steps.entries()) {
          const imported = await store.importInterchange(parseInterchange(step.interchange, `step ${i}`), `step ${i}`).then(
            () => true,
            (err: unknown) => {
              if (!(err instanceof NektarError)) throw err;
              return false;
            },
          );
          expect({ step: i, imported }).toEqual({ step: i, imported: step.should_succeed });
          for (const [j, b] of step.blocks.entries()) {
            const root = b.signing_root ? fromHex(b.signing_root, "signing_root", 32) : ZERO_ROOT;
            const ok = await outcome(() => store.checkAndInsertBlockProposal(fromHex(b.pubkey, "pubkey"), { slot: Number(b.slot), signingRoot: root }));
            expect({ step: i, block: j, ok }).toEqual({ step: i, block: j, ok: b.should_succeed });
          }
          for (const [j, a] of step.attestations.entries()) {
            const root = a.signing_root ? fromHex(a.signing_root, "signing_root", 32) : ZERO_ROOT;
            const vote = { sourceEpoch: Number(a.source_epoch), targetEpoch: Number(a.target_epoch), signingRoot: root };
            const ok = await outcome(() => store.checkAndInsertAttestation(fromHex(a.pubkey, "pubkey"), vote));
            expect({ step: i, attestation: j, ok }).toEqual({ step: i, attestation: j, ok: a.should_succeed });
          }
        }
      } finally {
        await store.close();
      }
    });
  }
});
