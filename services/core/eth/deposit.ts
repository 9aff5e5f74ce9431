/**
 * Deposit data: building and verifying `deposit_data-*.json` exactly as staking-deposit-cli and
 * ethstaker-deposit-cli write it and the Ethereum launchpad reads it.
 *
 * The file is a JSON array of entries; every hex field is lowercase WITHOUT a 0x prefix (Python's
 * `bytes.hex()`), `amount` is a JSON number of gwei, `fork_version` is the network's genesis fork
 * version. Signing is separate from building because nektar's deposit signatures are made
 * threshold-wise: `depositMessage` → `depositSigningRoot` → (partial signatures, recovery
 * elsewhere) → `depositDataEntry`.
 *
 * Amounts: the deposit contract accepts any whole gwei amount from 1 ETH, but a validator with
 * 0x00 or 0x01 credentials can use at most 32 ETH (MAX_EFFECTIVE_BALANCE); anything above is
 * parked (0x00) or swept back (0x01). Only 0x02 (compounding, Electra) validators use up to
 * 2048 ETH (MAX_EFFECTIVE_BALANCE_ELECTRA). So entries must hold 1..32 ETH for 0x00/0x01 and
 * 1..2048 ETH for 0x02: stricter than ethstaker-deposit-cli, which accepts up to 2048 ETH for any
 * credential type, because ETH a validator cannot use is a mistake worth stopping.
 *
 * Public keys and signatures are group-checked with @chainsafe/blst directly (services/core/crypto
 * has no typed parse helpers yet).
 */
import { createHash } from "node:crypto";
import { PublicKey, Signature, verify } from "@chainsafe/blst";
import {
  BLS_WITHDRAWAL_PREFIX,
  COMPOUNDING_WITHDRAWAL_PREFIX,
  ETH1_ADDRESS_WITHDRAWAL_PREFIX,
  MAX_EFFECTIVE_BALANCE,
  MAX_EFFECTIVE_BALANCE_ELECTRA,
  MIN_DEPOSIT_AMOUNT,
} from "@lodestar/params";
import { ssz, type phase0 } from "@lodestar/types";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { Type, type Static } from "@sinclair/typebox";
import { Value, ValueErrorType } from "@sinclair/typebox/value";
import { NektarError } from "../errors.js";
import { fromHex, toHex } from "../hex.js";
import { computeDepositDomain, computeSigningRoot } from "./domains.js";
import { isKnownNetworkName, NETWORKS, type Network } from "./networks.js";

const GWEI_PER_ETH = 1_000_000_000;

/**
 * The format version written into new entries. The launchpad refuses files whose
 * deposit_cli_version is below its minimum; 2.7.0 is the last release of
 * ethereum/staking-deposit-cli, whose format nektar writes.
 */
export const DEPOSIT_CLI_VERSION = "2.7.0";

function hexField(bytes: number) {
  return Type.String({
    pattern: `^[0-9a-fA-F]{${bytes * 2}}$`,
    description: `${bytes} bytes as ${bytes * 2} hex characters without 0x prefix`,
  });
}

/** One entry of deposit_data-*.json; field order is the order the deposit tools write. */
export const DepositDataEntrySchema = Type.Object({
  pubkey: hexField(48),
  withdrawal_credentials: hexField(32),
  amount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "a whole number of gwei" }),
  signature: hexField(96),
  deposit_message_root: hexField(32),
  deposit_data_root: hexField(32),
  fork_version: hexField(4),
  network_name: Type.String({ minLength: 1, description: "a network name such as mainnet" }),
  deposit_cli_version: Type.String({ pattern: "^\\d+\\.\\d+\\.\\d+$", description: "a version such as 2.7.0" }),
});

export type DepositDataEntry = Static<typeof DepositDataEntrySchema>;
export type DepositDataField = keyof DepositDataEntry;

const FIELDS = Object.keys(DepositDataEntrySchema.properties) as DepositDataField[];

/**
 * One thing wrong with a deposit data file. `entry` is the 0-based index in the array (as jq's
 * `.[2]` counts), absent for problems with the file as a whole; `message` is complete and
 * user-facing, e.g. "entry 2: deposit_data_root 0x… does not match the recomputed root 0x…".
 */
export interface DepositDataProblem {
  entry?: number;
  field?: DepositDataField;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Withdrawal credentials

/** 0x00: the hash of a BLS withdrawal key, 0x00 ‖ sha256(pubkey)[1:]. */
export function blsWithdrawalCredentials(withdrawalPubkey: Uint8Array): Uint8Array {
  parsePublicKey(withdrawalPubkey, "withdrawal public key");
  const credentials = new Uint8Array(createHash("sha256").update(withdrawalPubkey).digest());
  credentials[0] = BLS_WITHDRAWAL_PREFIX;
  return credentials;
}

/** 0x01: withdrawals swept to an execution address; balance above 32 ETH is skimmed. */
export function eth1WithdrawalCredentials(address: string): Uint8Array {
  return addressCredentials(ETH1_ADDRESS_WITHDRAWAL_PREFIX, address);
}

/** 0x02 (Electra): compounding, effective balance up to 2048 ETH, paid to an execution address. */
export function compoundingWithdrawalCredentials(address: string): Uint8Array {
  return addressCredentials(COMPOUNDING_WITHDRAWAL_PREFIX, address);
}

function addressCredentials(prefix: number, address: string): Uint8Array {
  const credentials = new Uint8Array(32);
  credentials[0] = prefix;
  credentials.set(parseExecutionAddress(address), 12);
  return credentials;
}

/**
 * A 20-byte execution address. Mixed-case input must carry a valid EIP-55 checksum: a mistyped
 * withdrawal address loses the validator's funds, and the checksum is the one guard there is.
 */
export function parseExecutionAddress(address: string): Uint8Array {
  const bytes = fromHex(address, "withdrawal address", 20);
  const body = address.replace(/^0x/i, "");
  if (body !== body.toLowerCase() && body !== body.toUpperCase()) {
    const lower = body.toLowerCase();
    const hash = keccak_256(new TextEncoder().encode(lower));
    const checksummed = [...lower]
      .map((c, i) => ((hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0xf) >= 8 ? c.toUpperCase() : c)
      .join("");
    if (checksummed !== body) {
      throw new NektarError(`withdrawal address ${address}: EIP-55 checksum mismatch (expected 0x${checksummed}); check for a typo`);
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Building

/** A DepositMessage, checked: valid public key, known credential type, amount in range. */
export function depositMessage(
  pubkey: Uint8Array,
  withdrawalCredentials: Uint8Array,
  amountGwei: number,
): phase0.DepositMessage {
  parsePublicKey(pubkey, "deposit public key");
  const problem = withdrawalCredentialsProblem(withdrawalCredentials) ?? amountProblem(amountGwei, withdrawalCredentials);
  if (problem) throw new NektarError(`deposit message: ${problem}`);
  return { pubkey, withdrawalCredentials, amount: amountGwei };
}

/** What the validator key signs: compute_signing_root(message, deposit domain of the network). */
export function depositSigningRoot(message: phase0.DepositMessage, genesisForkVersion: Uint8Array): Uint8Array {
  return computeSigningRoot(ssz.phase0.DepositMessage, message, computeDepositDomain(genesisForkVersion));
}

/**
 * The deposit_data.json entry for a signed message. Verifies what it writes (signature over the
 * network's deposit domain included), so a bad threshold signature never reaches a file.
 */
export function depositDataEntry(args: {
  message: phase0.DepositMessage;
  signature: Uint8Array;
  network: Network;
  depositCliVersion?: string;
}): DepositDataEntry {
  const { message, signature, network } = args;
  const entry: DepositDataEntry = {
    pubkey: bare(message.pubkey),
    withdrawal_credentials: bare(message.withdrawalCredentials),
    amount: message.amount,
    signature: bare(signature),
    deposit_message_root: bare(ssz.phase0.DepositMessage.hashTreeRoot(message)),
    deposit_data_root: bare(ssz.phase0.DepositData.hashTreeRoot({ ...message, signature })),
    fork_version: bare(network.genesisForkVersion),
    network_name: network.name,
    deposit_cli_version: args.depositCliVersion ?? DEPOSIT_CLI_VERSION,
  };
  const problems = entryProblems(entry, network);
  if (problems.length > 0) {
    throw new NektarError(`cannot build deposit data: ${problems.map((p) => p.text).join("; ")}`);
  }
  return entry;
}

/**
 * The file text as the deposit tools write it (Python's json.dump: one line, ", " and ": "
 * separators), so a file regenerated from the same keys diffs clean against the tool's.
 */
export function formatDepositData(entries: readonly DepositDataEntry[]): string {
  const objects = entries.map(
    (entry) => `{${FIELDS.map((field) => `${JSON.stringify(field)}: ${JSON.stringify(entry[field])}`).join(", ")}}`,
  );
  return `[${objects.join(", ")}]`;
}

// ---------------------------------------------------------------------------------------------
// Verifying

export interface VerifyDepositDataOptions {
  /** The network the deposits are meant for: every entry's fork_version and network_name must be its. */
  network?: Network;
}

/**
 * Every problem with a parsed deposit_data.json (`JSON.parse` output), not just the first: an
 * empty result means every entry is well-formed, both roots recompute, the amount suits the
 * credential type, the public key and signature are valid curve points and the signature
 * verifies under the entry's fork version - which must be its network's when network_name names
 * a known network.
 */
export function verifyDepositData(json: unknown, options: VerifyDepositDataOptions = {}): DepositDataProblem[] {
  if (!Array.isArray(json)) return [{ message: "deposit data: expected a JSON array of deposit entries" }];
  if (json.length === 0) return [{ message: "deposit data: the array has no entries" }];
  return json.flatMap((entry: unknown, index) =>
    entryProblems(entry, options.network).map(({ field, text }) => ({
      entry: index,
      ...(field && { field }),
      message: `entry ${index}: ${text}`,
    })),
  );
}

interface EntryProblem {
  field?: DepositDataField;
  text: string;
}

/** The fields of an entry that are well-formed, decoded; a malformed field is absent. */
interface WellFormed {
  pubkey?: Uint8Array;
  withdrawalCredentials?: Uint8Array;
  amount?: number;
  signature?: Uint8Array;
  depositMessageRoot?: Uint8Array;
  depositDataRoot?: Uint8Array;
  forkVersion?: Uint8Array;
  networkName?: string;
}

/**
 * The checks of verifyDepositData for one entry. Each check uses only well-formed fields, so a
 * malformed field is reported once, by the schema, and does not cascade.
 */
function entryProblems(raw: unknown, expected: Network | undefined): EntryProblem[] {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return [{ text: "expected an object with the deposit fields" }];
  }
  const problems: EntryProblem[] = [];
  const report = (field: DepositDataField, text: string) => problems.push({ field, text });
  const fields = decode(raw as Record<string, unknown>, report);
  const publicKey = fields.pubkey && tryParse(() => parsePublicKey(fields.pubkey!, "pubkey"), "pubkey", report);
  const signature = fields.signature && tryParse(() => parseSignature(fields.signature!, "signature"), "signature", report);
  checkAmountAndCredentials(fields, report);
  checkNetwork(fields, expected, report);
  const messageRoot = checkRoots(fields, report);
  if (messageRoot && publicKey && signature && fields.forkVersion) {
    checkSignature(messageRoot, fields.depositMessageRoot, publicKey, signature, fields.forkVersion, report);
  }
  return problems;
}

type Report = (field: DepositDataField, text: string) => void;

function decode(entry: Record<string, unknown>, report: Report): WellFormed {
  const malformed = new Set<string>();
  for (const error of Value.Errors(DepositDataEntrySchema, entry)) {
    const field = error.path.slice(1) as DepositDataField;
    if (malformed.has(field)) continue;
    malformed.add(field);
    report(
      field,
      error.type === ValueErrorType.ObjectRequiredProperty
        ? `${field} is missing`
        : `${field}: expected ${error.schema.description}, got ${describe(entry[field])}`,
    );
  }
  const hex = (field: DepositDataField) => (malformed.has(field) ? undefined : fromHex(entry[field] as string, field));
  return {
    pubkey: hex("pubkey"),
    withdrawalCredentials: hex("withdrawal_credentials"),
    amount: malformed.has("amount") ? undefined : (entry.amount as number),
    signature: hex("signature"),
    depositMessageRoot: hex("deposit_message_root"),
    depositDataRoot: hex("deposit_data_root"),
    forkVersion: hex("fork_version"),
    networkName: malformed.has("network_name") ? undefined : (entry.network_name as string),
  };
}

function tryParse<T>(parse: () => T, field: DepositDataField, report: Report): T | undefined {
  try {
    return parse();
  } catch (err) {
    report(field, (err as Error).message);
    return undefined;
  }
}

function checkAmountAndCredentials({ withdrawalCredentials, amount }: WellFormed, report: Report): void {
  const credentialsProblem = withdrawalCredentials && withdrawalCredentialsProblem(withdrawalCredentials);
  if (credentialsProblem) report("withdrawal_credentials", credentialsProblem);
  const amountProblemText = amount !== undefined && amountProblem(amount, withdrawalCredentials);
  if (amountProblemText) report("amount", amountProblemText);
}

function checkNetwork({ forkVersion, networkName }: WellFormed, expected: Network | undefined, report: Report): void {
  if (!forkVersion || networkName === undefined) return;
  const named = isKnownNetworkName(networkName) ? NETWORKS[networkName] : undefined;
  if (named && Buffer.compare(forkVersion, named.genesisForkVersion) !== 0) {
    report(
      "fork_version",
      `fork_version ${toHex(forkVersion)} is not the genesis fork version of ${named.name} (${toHex(named.genesisForkVersion)})`,
    );
  } else if (expected && Buffer.compare(forkVersion, expected.genesisForkVersion) !== 0) {
    report(
      "fork_version",
      `fork_version ${toHex(forkVersion)} is not the genesis fork version of ${expected.name} ` +
        `(${toHex(expected.genesisForkVersion)}), the network these deposits are for`,
    );
  }
  if (expected && networkName !== expected.name) {
    report("network_name", `network_name "${networkName}" is not "${expected.name}", the network these deposits are for`);
  }
}

/** Recomputes both roots; returns the message root when pubkey, credentials and amount parsed. */
function checkRoots(fields: WellFormed, report: Report): Uint8Array | undefined {
  const { pubkey, withdrawalCredentials, amount, signature } = fields;
  if (!pubkey || !withdrawalCredentials || amount === undefined) return undefined;
  const message: phase0.DepositMessage = { pubkey, withdrawalCredentials, amount };
  const messageRoot = ssz.phase0.DepositMessage.hashTreeRoot(message);
  if (fields.depositMessageRoot && Buffer.compare(fields.depositMessageRoot, messageRoot) !== 0) {
    report(
      "deposit_message_root",
      `deposit_message_root ${toHex(fields.depositMessageRoot)} does not match the root recomputed from ` +
        `pubkey, withdrawal_credentials and amount (${toHex(messageRoot)})`,
    );
  }
  if (signature && fields.depositDataRoot) {
    const dataRoot = ssz.phase0.DepositData.hashTreeRoot({ ...message, signature });
    if (Buffer.compare(fields.depositDataRoot, dataRoot) !== 0) {
      report(
        "deposit_data_root",
        `deposit_data_root ${toHex(fields.depositDataRoot)} does not match the recomputed root ${toHex(dataRoot)}`,
      );
    }
  }
  return messageRoot;
}

function checkSignature(
  messageRoot: Uint8Array,
  claimedMessageRoot: Uint8Array | undefined,
  publicKey: PublicKey,
  signature: Signature,
  forkVersion: Uint8Array,
  report: Report,
): void {
  const domain = computeDepositDomain(forkVersion);
  const signs = (objectRoot: Uint8Array) =>
    verify(ssz.phase0.SigningData.hashTreeRoot({ objectRoot, domain }), publicKey, signature);
  if (signs(messageRoot)) return;
  // Tell a message altered after signing apart from a signature that was never right.
  if (claimedMessageRoot && Buffer.compare(claimedMessageRoot, messageRoot) !== 0 && signs(claimedMessageRoot)) {
    report(
      "signature",
      `signature was made over deposit_message_root ${toHex(claimedMessageRoot)}, not over this entry's message: ` +
        "withdrawal_credentials or amount changed after signing",
    );
  } else {
    report(
      "signature",
      `signature does not verify for pubkey ${abbreviate(toHex(publicKey.toBytes()))} over this deposit message ` +
        `with fork_version ${toHex(forkVersion)}`,
    );
  }
}

function withdrawalCredentialsProblem(credentials: Uint8Array): string | undefined {
  if (credentials.length !== 32) return `withdrawal_credentials: expected 32 bytes, got ${credentials.length}`;
  const prefix = credentials[0];
  if (prefix === BLS_WITHDRAWAL_PREFIX) return undefined;
  if (prefix === ETH1_ADDRESS_WITHDRAWAL_PREFIX || prefix === COMPOUNDING_WITHDRAWAL_PREFIX) {
    return credentials.subarray(1, 12).every((b) => b === 0)
      ? undefined
      : `withdrawal_credentials ${toHex(credentials)}: bytes 1..11 must be zero after the ${prefixHex(prefix)} prefix`;
  }
  return `withdrawal_credentials ${toHex(credentials)}: unknown prefix ${prefixHex(prefix!)} (expected 0x00, 0x01 or 0x02)`;
}

/** The amount rule of the module doc; `credentials` undefined when they did not parse. */
function amountProblem(amount: number, credentials: Uint8Array | undefined): string | undefined {
  if (!Number.isSafeInteger(amount) || amount < MIN_DEPOSIT_AMOUNT) {
    return `amount ${amount} gwei is below the minimum deposit of ${MIN_DEPOSIT_AMOUNT / GWEI_PER_ETH} ETH (${MIN_DEPOSIT_AMOUNT} gwei)`;
  }
  const prefix = credentials?.[0];
  if ((prefix === BLS_WITHDRAWAL_PREFIX || prefix === ETH1_ADDRESS_WITHDRAWAL_PREFIX) && amount > MAX_EFFECTIVE_BALANCE) {
    return (
      `amount ${amount} gwei exceeds ${MAX_EFFECTIVE_BALANCE / GWEI_PER_ETH} ETH, all a validator with ` +
      `${prefixHex(prefix)} credentials can use; use 0x02 (compounding) credentials for more`
    );
  }
  if (amount > MAX_EFFECTIVE_BALANCE_ELECTRA) {
    return `amount ${amount} gwei exceeds ${MAX_EFFECTIVE_BALANCE_ELECTRA / GWEI_PER_ETH} ETH, the largest effective balance (MAX_EFFECTIVE_BALANCE_ELECTRA)`;
  }
  return undefined;
}

function prefixHex(prefix: number): string {
  return `0x${prefix.toString(16).padStart(2, "0")}`;
}

function parsePublicKey(bytes: Uint8Array, what: string): PublicKey {
  try {
    return PublicKey.fromBytes(bytes, true);
  } catch (err) {
    throw new NektarError(`${what} ${abbreviate(toHex(bytes))} is not a valid BLS12-381 public key (${blstReason(err)})`);
  }
}

function parseSignature(bytes: Uint8Array, what: string): Signature {
  try {
    return Signature.fromBytes(bytes, true, true);
  } catch (err) {
    throw new NektarError(`${what} ${abbreviate(toHex(bytes))} is not a valid BLS12-381 signature (${blstReason(err)})`);
  }
}

/** blst's reason, reworded where it misleads (it calls an infinite signature a "public key"). */
function blstReason(err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  return /infinity/i.test(reason) ? "the point at infinity" : reason;
}

/** Hex as the deposit tools write it: lowercase, no 0x. */
function bare(bytes: Uint8Array): string {
  return toHex(bytes).slice(2);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return abbreviate(text);
}

function abbreviate(text: string): string {
  return text.length > 24 ? `${text.slice(0, 14)}…${text.slice(-8)}` : text;
}
