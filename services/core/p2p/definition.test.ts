import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NektarError } from "../errors.js";
import { toHex } from "../hex.js";
import {
  type ClusterDefinition,
  assertFullySigned,
  configHash,
  createDefinition,
  minThreshold,
  parseDefinition,
  readDefinitionFile,
  signDefinition,
  unsignedOperators,
  writeDefinitionFile,
} from "./definition.js";
import { type Identity, generateIdentity } from "./identity.js";

const WITHDRAWAL = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"; // EIP-55's own example
const FEE_RECIPIENT = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359";

function operatorsOf(identities: Identity[]) {
  return identities.map((id, i) => ({
    name: `op-${i + 1}`,
    address: `0x${(i + 1).toString(16).padStart(40, "0")}`,
    peerId: id.peerId.toString(),
    multiaddrs: [`/dns4/op-${i + 1}.nektar.svc/tcp/3610`],
  }));
}

function newDefinition(identities: Identity[], overrides: Partial<Parameters<typeof createDefinition>[0]> = {}) {
  return createDefinition({
    name: "test-cluster",
    forkVersion: "0x10000910",
    numValidators: 2,
    withdrawalAddress: WITHDRAWAL,
    feeRecipient: FEE_RECIPIENT,
    operators: operatorsOf(identities),
    ...overrides,
  });
}

async function signedBy(def: ClusterDefinition, identities: Identity[]): Promise<ClusterDefinition> {
  for (const id of identities) def = await signDefinition(def, id);
  return def;
}

/** The definition as a JSON file would hold it, to be broken by a test. */
function clone(def: ClusterDefinition): ClusterDefinition {
  return JSON.parse(JSON.stringify(def)) as ClusterDefinition;
}

describe("cluster definition", () => {
  const ids = Array.from({ length: 4 }, generateIdentity);

  it("defaults the threshold to ceil(2n/3): 11 of 16, 3 of 4", () => {
    expect(minThreshold(16)).toBe(11);
    expect(minThreshold(4)).toBe(3);
    expect(minThreshold(1)).toBe(1);
    expect(newDefinition(ids).threshold).toBe(3);
  });

  it("is signed by every operator before a ceremony may start", async () => {
    const def = newDefinition(ids);
    expect(unsignedOperators(def)).toEqual(["op-1", "op-2", "op-3", "op-4"]);
    const partly = await signedBy(def, ids.slice(0, 2));
    expect(() => assertFullySigned(partly, "def.json")).toThrow("def.json: not yet signed by op-3, op-4");
    const signed = await signedBy(partly, ids.slice(2));
    expect(() => assertFullySigned(signed, "def.json")).not.toThrow();
    // What is signed is the config hash, which signatures do not change.
    expect(toHex(configHash(signed))).toBe(toHex(configHash(def)));
    expect(parseDefinition(clone(signed), "def.json")).toEqual(signed);
  });

  it("rejects a signature when any signed field changes, or when it is another operator's", async () => {
    const signed = await signedBy(newDefinition(ids), ids);
    const changed = { ...clone(signed), numValidators: 3 };
    expect(() => parseDefinition(changed, "def.json")).toThrow(/def\.json: operators\/0\/signature: not op-1's signature of this definition/);

    const moved = clone(signed);
    moved.operators[1]!.multiaddrs = ["/dns4/attacker.example/tcp/3610"];
    expect(() => parseDefinition(moved, "def.json")).toThrow(/operators\/0\/signature/);

    const swapped = clone(signed);
    swapped.operators[2]!.signature = signed.operators[3]!.signature;
    expect(() => parseDefinition(swapped, "def.json")).toThrow(/operators\/2\/signature: not op-3's/);

    const garbage = clone(signed);
    garbage.operators[0]!.signature = "0x3044" + "00".repeat(20);
    expect(() => parseDefinition(garbage, "def.json")).toThrow(/operators\/0\/signature/);
  });

  it("refuses to sign for an identity that is not an operator", async () => {
    await expect(signDefinition(newDefinition(ids), generateIdentity())).rejects.toThrow(/is not an operator of cluster definition "test-cluster"/);
  });

  it("gives every definition its own uuid, so signatures do not carry over to a twin", () => {
    const a = newDefinition(ids);
    const b = newDefinition(ids);
    expect(a.uuid).not.toBe(b.uuid);
    expect(toHex(configHash(a))).not.toBe(toHex(configHash(b)));
  });

  it("hashes every field: changing any one changes the config hash", () => {
    const def = newDefinition(ids);
    const base = toHex(configHash(def));
    const variants: ClusterDefinition[] = [
      { ...def, name: "other" },
      { ...def, forkVersion: "0x00000000" },
      { ...def, threshold: 4 },
      { ...def, numValidators: 1 },
      { ...def, withdrawalAddress: FEE_RECIPIENT },
      { ...def, feeRecipient: WITHDRAWAL },
      { ...def, operators: [...def.operators].reverse() },
      { ...def, operators: def.operators.map((op, i) => (i === 0 ? { ...op, name: "renamed" } : op)) },
      { ...def, operators: def.operators.map((op, i) => (i === 0 ? { ...op, multiaddrs: [...op.multiaddrs, "/ip4/10.0.0.1/tcp/3610"] } : op)) },
    ];
    const hashes = new Set(variants.map((v) => toHex(configHash(v))));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(base)).toBe(false);
  });

  describe("validation names the field that is wrong", () => {
    const def = newDefinition(ids);
    const cases: [string, (d: ClusterDefinition) => unknown, RegExp][] = [
      ["a missing field", ({ threshold: _, ...rest }) => rest, /^def\.json: threshold: Expected required property$/],
      ["an unknown field", (d) => ({ ...d, extra: 1 }), /^def\.json: extra: Unexpected property$/],
      ["a low threshold", (d) => ({ ...d, threshold: 2 }), /threshold: 2 of 4 operators; it must be between 3 \(ceil\(2n\/3\)\) and 4/],
      ["a threshold above n", (d) => ({ ...d, threshold: 5 }), /threshold: 5 of 4 operators/],
      ["no validators", (d) => ({ ...d, numValidators: 0 }), /numValidators: Expected integer to be greater or equal to 1/],
      ["a bad fork version", (d) => ({ ...d, forkVersion: "0x1234" }), /forkVersion: Expected string to match/],
      ["a zero withdrawal address", (d) => ({ ...d, withdrawalAddress: "0x" + "0".repeat(40) }), /withdrawalAddress: the zero address/],
      [
        "a mistyped checksummed address",
        (d) => ({ ...d, feeRecipient: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD" }),
        /feeRecipient: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD: EIP-55 checksum mismatch/,
      ],
      ["a duplicate peer id", (d) => withOp(d, 3, { peerId: d.operators[0]!.peerId }), /operators\/3\/peerId: the same as operators\/0\/peerId/],
      ["a duplicate name", (d) => withOp(d, 2, { name: "op-1" }), /operators\/2\/name: the same as operators\/0\/name/],
      ["a shared address", (d) => withOp(d, 1, { multiaddrs: d.operators[0]!.multiaddrs }), /operators\/1\/multiaddrs\/0: the same as operators\/0\/multiaddrs\/0/],
      ["a peer id that is not one", (d) => withOp(d, 1, { peerId: "16Uiu2HAnotapeerid" }), /operators\/1\/peerId: "16Uiu2HAnotapeerid" is not a peer id/],
      [
        "an ed25519 peer id",
        (d) => withOp(d, 1, { peerId: "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA" }),
        /operators\/1\/peerId: an Ed25519 peer id; operator identities are secp256k1/,
      ],
      ["a multiaddr with a peer id", (d) => withOp(d, 1, { multiaddrs: [`/ip4/10.0.0.2/tcp/3610/p2p/${d.operators[1]!.peerId}`] }), /operators\/1\/multiaddrs\/0: .* \(the peer id goes in peerId\)/],
      ["a UDP multiaddr", (d) => withOp(d, 1, { multiaddrs: ["/ip4/10.0.0.2/udp/3610"] }), /operators\/1\/multiaddrs\/0: .*is not \/ip4\|ip6\|dns\|dns4\|dns6\/<host>\/tcp\/<port>/],
      ["port 0", (d) => withOp(d, 1, { multiaddrs: ["/ip4/10.0.0.2/tcp/0"] }), /operators\/1\/multiaddrs\/0/],
      ["a non-canonical multiaddr", (d) => withOp(d, 1, { multiaddrs: ["/ip6/0:0:0:0:0:0:0:1/tcp/3610"] }), /operators\/1\/multiaddrs\/0: write it as \/ip6\/::1\/tcp\/3610/],
      ["garbage as multiaddr", (d) => withOp(d, 1, { multiaddrs: ["op-2:3610"] }), /operators\/1\/multiaddrs\/0: "op-2:3610" is not a multiaddr/],
      ["a name with spaces", (d) => withOp(d, 0, { name: "op 1" }), /operators\/0\/name: Expected string to match/],
    ];
    it.each(cases)("%s", (_label, mutate, message) => {
      const broken = mutate(clone(def));
      expect(() => parseDefinition(broken, "def.json")).toThrow(NektarError);
      expect(() => parseDefinition(broken, "def.json")).toThrow(message);
    });
  });

  describe("files", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "nektar-definition-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("round-trips through a file, and names the file in errors", async () => {
      const def = await signedBy(newDefinition(ids), ids.slice(0, 1));
      const path = join(dir, "cluster-definition.json");
      await writeDefinitionFile(path, def, { overwrite: false });
      expect(await readDefinitionFile(path)).toEqual(def);
      await expect(writeDefinitionFile(path, def, { overwrite: false })).rejects.toThrow(/already exists/);

      await writeFile(path, JSON.stringify({ ...def, threshold: "3" }));
      await expect(readDefinitionFile(path)).rejects.toThrow(`cluster definition ${path}: threshold: Expected integer`);
      await writeFile(path, "{ not json");
      await expect(readDefinitionFile(path)).rejects.toThrow(`cannot read cluster definition ${path}`);
    });
  });
});

function withOp(def: ClusterDefinition, index: number, changes: Partial<ClusterDefinition["operators"][number]>): ClusterDefinition {
  return { ...def, operators: def.operators.map((op, i) => (i === index ? { ...op, ...changes } : op)) };
}
