/**
 * The cluster definition: who the operators are and what their DKG ceremony will make. Every
 * operator signs its config hash with its identity key; a ceremony starts only from a definition
 * all operators signed, so nobody can be enrolled, or have a parameter changed, behind its back.
 *
 * Canonical form (reproducible in any language with SSZ, e.g. Python's remerkleable):
 *
 *     Operator = Container(name: ByteList[64], address: Bytes20, peer_id: ByteList[64],
 *                          multiaddrs: List[ByteList[256], 8])
 *     ClusterConfig = Container(version: ByteList[64], uuid: ByteList[64], name: ByteList[64],
 *                          fork_version: Bytes4, threshold: uint64, num_validators: uint64,
 *                          withdrawal_address: Bytes20, fee_recipient: Bytes20,
 *                          operators: List[Operator, 64])
 *     config_hash = hash_tree_root(ClusterConfig)      strings as their UTF-8 bytes
 *
 * Strings are hashed as written, so validation insists they are already canonical (a peer id
 * as libp2p prints it, a multiaddr as it prints itself). An operator's signature is libp2p's
 * signature for its key type (secp256k1: ECDSA over SHA-256 of the message, DER, low-S) over
 * `"nektar-cluster-definition:" || config_hash`; the prefix keeps the identity key's signature
 * from meaning anything in another protocol (noise signs its static key under its own prefix).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ByteListType, ByteVectorType, ContainerType, ListCompositeType, UintNumberType } from "@chainsafe/ssz";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { NektarError } from "../errors.js";
import { parseExecutionAddress } from "../eth/deposit.js";
import { fromHex, toHex } from "../hex.js";
import { writeFileAtomic } from "../store/files.js";
import type { Identity } from "./identity.js";

export const DEFINITION_VERSION = "nektar/cluster-definition/v1";
export const MAX_OPERATORS = 64;
export const MAX_VALIDATORS = 10_000;
const MAX_MULTIADDRS = 8;
const MAX_MULTIADDR_BYTES = 256;
const SIGNING_PREFIX = new TextEncoder().encode("nektar-cluster-definition:");

// ASCII, so the 64-byte SSZ bound and the character count agree; usable as a metric label.
const Name = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" });
const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" });

export const OperatorSchema = Type.Object(
  {
    name: Name,
    /** The operator's Ethereum address (its registry and collateral account). */
    address: Address,
    peerId: Type.String({ maxLength: 64 }),
    /** Where the operator's node listens: /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>. */
    multiaddrs: Type.Array(Type.String({ maxLength: MAX_MULTIADDR_BYTES }), { minItems: 1, maxItems: MAX_MULTIADDRS }),
    /** Absent until the operator signs. */
    signature: Type.Optional(Type.String({ pattern: "^0x[0-9a-f]{2,160}$" })),
  },
  { additionalProperties: false },
);

export const ClusterDefinitionSchema = Type.Object(
  {
    version: Type.Literal(DEFINITION_VERSION),
    /** Makes each definition, and so each set of signatures, unique to one ceremony. */
    uuid: Type.String({ pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" }),
    name: Name,
    /** The network's genesis fork version, e.g. 0x00000000 for mainnet. */
    forkVersion: Type.String({ pattern: "^0x[0-9a-f]{8}$" }),
    threshold: Type.Integer({ minimum: 1, maximum: MAX_OPERATORS }),
    numValidators: Type.Integer({ minimum: 1, maximum: MAX_VALIDATORS }),
    withdrawalAddress: Address,
    feeRecipient: Address,
    operators: Type.Array(OperatorSchema, { minItems: 1, maxItems: MAX_OPERATORS }),
  },
  { additionalProperties: false },
);

export type Operator = Static<typeof OperatorSchema>;
export type ClusterDefinition = Static<typeof ClusterDefinitionSchema>;

/** The smallest safe threshold for n operators, and the default: ceil(2n/3) (11 of 16). */
export function minThreshold(n: number): number {
  return Math.ceil((2 * n) / 3);
}

export interface DefinitionParams {
  name: string;
  forkVersion: string;
  /** Default: minThreshold(operators.length). */
  threshold?: number;
  numValidators: number;
  withdrawalAddress: string;
  feeRecipient: string;
  operators: Omit<Operator, "signature">[];
}

/** A new, unsigned definition; throws if the parameters would not make a valid one. */
export function createDefinition(params: DefinitionParams): ClusterDefinition {
  return parseDefinition(
    {
      version: DEFINITION_VERSION,
      uuid: randomUUID(),
      name: params.name,
      forkVersion: params.forkVersion,
      threshold: params.threshold ?? minThreshold(params.operators.length),
      numValidators: params.numValidators,
      withdrawalAddress: params.withdrawalAddress,
      feeRecipient: params.feeRecipient,
      operators: params.operators.map(({ name, address, peerId, multiaddrs }) => ({ name, address, peerId, multiaddrs })),
    },
    "new cluster definition",
  );
}

/**
 * Checks a parsed JSON value: its shape, the threshold, canonical and unique peer ids and
 * addresses, and every signature present. `what` names the input in errors.
 */
export function parseDefinition(value: unknown, what: string): ClusterDefinition {
  if (!Value.Check(ClusterDefinitionSchema, value)) {
    // The first complaint about each field, for the first three fields.
    const byField = new Map<string, string>();
    for (const e of Value.Errors(ClusterDefinitionSchema, value)) {
      if (!byField.has(e.path)) byField.set(e.path, `${e.path.slice(1) || "(top level)"}: ${e.message}`);
    }
    throw new NektarError(`${what}: ${[...byField.values()].slice(0, 3).join("; ")}`);
  }
  const def = value;
  const n = def.operators.length;
  if (def.threshold > n || def.threshold < minThreshold(n)) {
    throw new NektarError(
      `${what}: threshold: ${def.threshold} of ${n} operators; it must be between ${minThreshold(n)} (ceil(2n/3)) and ${n}` +
        " - fewer would let a faulty minority sign two different messages",
    );
  }
  checkAddress(def.withdrawalAddress, `${what}: withdrawalAddress`);
  checkAddress(def.feeRecipient, `${what}: feeRecipient`);

  const seen = new Map<string, string>();
  const unique = (key: string, field: string): void => {
    const first = seen.get(key);
    if (first !== undefined) throw new NektarError(`${what}: ${field}: the same as ${first}; each operator needs its own`);
    seen.set(key, field);
  };
  const hash = configHash(def);
  def.operators.forEach((op, i) => {
    const field = `operators/${i}`;
    unique(`name:${op.name}`, `${field}/name`);
    unique(`peer:${checkPeerId(op.peerId, `${what}: ${field}/peerId`)}`, `${field}/peerId`);
    checkAddress(op.address, `${what}: ${field}/address`);
    op.multiaddrs.forEach((addr, j) => unique(`addr:${checkMultiaddr(addr, `${what}: ${field}/multiaddrs/${j}`)}`, `${field}/multiaddrs/${j}`));
    if (op.signature !== undefined && !verifySignature(op.peerId, hash, op.signature)) {
      throw new NektarError(`${what}: ${field}/signature: not ${op.name}'s signature of this definition (config hash ${toHex(hash)})`);
    }
  });
  return def;
}

/** The names of operators that have not signed yet; a ceremony may start when this is empty. */
export function unsignedOperators(def: ClusterDefinition): string[] {
  return def.operators.filter((op) => op.signature === undefined).map((op) => op.name);
}

/** Throws unless every operator has signed. */
export function assertFullySigned(def: ClusterDefinition, what: string): void {
  const missing = unsignedOperators(def);
  if (missing.length > 0) throw new NektarError(`${what}: not yet signed by ${missing.join(", ")}; every operator must sign before the ceremony`);
}

/** Adds the identity's signature to its operator entry; the identity must be an operator. */
export async function signDefinition(def: ClusterDefinition, identity: Identity): Promise<ClusterDefinition> {
  const peerId = identity.peerId.toString();
  const index = def.operators.findIndex((op) => op.peerId === peerId);
  if (index < 0) throw new NektarError(`identity ${peerId} is not an operator of cluster definition "${def.name}"`);
  const signature = toHex(await identity.privateKey.sign(signingMessage(configHash(def))));
  return { ...def, operators: def.operators.map((op, i) => (i === index ? { ...op, signature } : op)) };
}

// ---------------------------------------------------------------------------------------------
// The config hash

const Utf8 = (limit: number) => new ByteListType(limit);
const SszOperator = new ContainerType({
  name: Utf8(64),
  address: new ByteVectorType(20),
  peerId: Utf8(64),
  multiaddrs: new ListCompositeType(Utf8(MAX_MULTIADDR_BYTES), MAX_MULTIADDRS),
});
const SszClusterConfig = new ContainerType({
  version: Utf8(64),
  uuid: Utf8(64),
  name: Utf8(64),
  forkVersion: new ByteVectorType(4),
  threshold: new UintNumberType(8),
  numValidators: new UintNumberType(8),
  withdrawalAddress: new ByteVectorType(20),
  feeRecipient: new ByteVectorType(20),
  operators: new ListCompositeType(SszOperator, MAX_OPERATORS),
});

/** hash_tree_root of the definition without its signatures: what each operator signs. */
export function configHash(def: ClusterDefinition): Uint8Array {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  return SszClusterConfig.hashTreeRoot({
    version: utf8(def.version),
    uuid: utf8(def.uuid),
    name: utf8(def.name),
    forkVersion: fromHex(def.forkVersion, "forkVersion", 4),
    threshold: def.threshold,
    numValidators: def.numValidators,
    withdrawalAddress: fromHex(def.withdrawalAddress, "withdrawalAddress", 20),
    feeRecipient: fromHex(def.feeRecipient, "feeRecipient", 20),
    operators: def.operators.map((op) => ({
      name: utf8(op.name),
      address: fromHex(op.address, "address", 20),
      peerId: utf8(op.peerId),
      multiaddrs: op.multiaddrs.map(utf8),
    })),
  });
}

function signingMessage(hash: Uint8Array): Uint8Array {
  return new Uint8Array([...SIGNING_PREFIX, ...hash]);
}

function verifySignature(peerId: string, hash: Uint8Array, signature: string): boolean {
  try {
    // secp256k1 verification is synchronous; the interface allows a promise for other key types.
    return peerIdFromString(peerId).publicKey!.verify(signingMessage(hash), fromHex(signature, "signature")) === true;
  } catch {
    return false; // malformed DER
  }
}

// ---------------------------------------------------------------------------------------------
// Field checks

/** A secp256k1 peer id (it embeds the public key that verifies signatures), as libp2p prints it. */
function checkPeerId(value: string, what: string): string {
  let canonical: string;
  try {
    const id = peerIdFromString(value);
    if (id.type !== "secp256k1") throw new NektarError(`${what}: an ${id.type} peer id; operator identities are secp256k1 (16Uiu2...)`);
    canonical = id.toString();
  } catch (err) {
    if (err instanceof NektarError) throw err;
    throw new NektarError(`${what}: "${value}" is not a peer id (${(err as Error).message})`);
  }
  if (canonical !== value) throw new NektarError(`${what}: write it as ${canonical}`);
  return canonical;
}

const HOST_PROTOCOLS = new Set(["ip4", "ip6", "dns", "dns4", "dns6"]);

/** A TCP address without a peer id: /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>, in canonical form. */
function checkMultiaddr(value: string, what: string): string {
  let canonical: string;
  let components: { name: string; value?: string }[];
  try {
    const ma = multiaddr(value);
    canonical = ma.toString();
    components = ma.getComponents();
  } catch (err) {
    throw new NektarError(`${what}: "${value}" is not a multiaddr (${(err as Error).message})`);
  }
  const [host, tcp, ...rest] = components;
  if (host === undefined || !HOST_PROTOCOLS.has(host.name) || tcp?.name !== "tcp" || tcp.value === "0" || rest.length > 0) {
    throw new NektarError(`${what}: "${value}" is not /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port> (the peer id goes in peerId)`);
  }
  if (canonical !== value) throw new NektarError(`${what}: write it as ${canonical}`);
  return canonical;
}

function checkAddress(value: string, what: string): void {
  try {
    parseExecutionAddress(value);
  } catch (err) {
    // parseExecutionAddress names the input "withdrawal address"; say which field it was.
    throw new NektarError(`${what}: ${(err as Error).message.replace(/^withdrawal address /, "")}`, { cause: err });
  }
  if (/^0x0{40}$/.test(value)) throw new NektarError(`${what}: the zero address; funds sent there are lost`);
}

// ---------------------------------------------------------------------------------------------
// Files

export async function readDefinitionFile(path: string): Promise<ClusterDefinition> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new NektarError(`cannot read cluster definition ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseDefinition(json, `cluster definition ${path}`);
}

/** Writes atomically; `overwrite: false` refuses to replace an existing file. */
export async function writeDefinitionFile(path: string, def: ClusterDefinition, opts: { overwrite: boolean }): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(def, null, 2) + "\n", { mode: 0o644, overwrite: opts.overwrite, what: `cluster definition ${path}` });
}
