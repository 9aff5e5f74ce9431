/**
 * `nektar node` against a real beacon chain: Lodestar 1.5.1's dev chain, whose genesis
 * validators 6 and 7 are given to a distributed validator (their interop keys split 3-of-4 by a
 * trusted dealer); Lodestar's own validator client runs 0-5 only.
 *
 * Four operators with threshold 3: the smallest cluster that keeps a two-thirds threshold and
 * still signs with one operator down, and few enough processes for a 2-core machine that also
 * runs the chain (seven operators, t = 5, would tolerate two down at twice the processes).
 *
 * (a) Three of the four nodes (operator 3 down) are the validator client: their attestations are
 *     accepted by the beacon node and included in blocks, checked through the Beacon API.
 * (b) The nodes restart (a SIGKILL, then a start on the same data: slashing protection
 *     survives) as remote signers only, and Lodestar's validator client runs 6 and 7 through the
 *     Web3Signer API of one node: its sync committee messages, each signed by the cluster, are in
 *     the blocks' sync aggregates, and its attestations are included in blocks.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ForkName } from "@lodestar/params";
import { BeaconApiError, BeaconClient, type AttesterDuty } from "../../../services/core/eth/beacon/index.js";
import { toHex } from "../../../services/core/hex.js";
import { type NodeCluster, type NodeRun, startNodes, writeNodeCluster } from "./cluster.js";
import { type LodestarDevChain, type LodestarValidatorClient, startLodestarDevChain, startLodestarValidator } from "./devchain.js";
import { interopSecretKey } from "./interop.js";

const SLOTS_PER_EPOCH = 8; // minimal preset
const VALIDATORS = [6, 7];

describe("nektar node on a Lodestar 1.5.1 dev chain", () => {
  let dir: string;
  let chain: LodestarDevChain;
  let client: BeaconClient;
  let cluster: NodeCluster;
  let run: NodeRun | undefined;
  let validatorClient: LodestarValidatorClient | undefined;

  const currentSlot = () => Math.floor((Date.now() / 1000 - chain.genesisTime) / chain.secondsPerSlot);
  const untilSlot = async (slot: number, fraction = 0) => {
    await sleep(Math.max(0, (chain.genesisTime + (slot + fraction) * chain.secondsPerSlot) * 1000 - Date.now()));
  };
  const diagnostics = () =>
    [
      run?.exited() ?? "",
      ...cluster.operators.map((_, i) => `--- op-${i}\n${run?.logTail(i, 15) ?? ""}`),
      validatorClient ? `--- lodestar validator\n${validatorClient.logTail(40)}` : "",
      `--- lodestar dev\n${chain.logTail(15)}`,
    ].join("\n");

  /** The slot of the block that includes `duty`'s attestation, looking a few slots past it. */
  const inclusion = async (duty: AttesterDuty): Promise<number | undefined> => {
    for (let slot = duty.slot + 1; slot <= Math.min(currentSlot(), duty.slot + 4); slot++) {
      // A skipped slot has no block: 404.
      const attestations = await client.blockAttestations(ForkName.altair, slot).catch((error: unknown) => {
        if (error instanceof BeaconApiError && error.status === 404) return [];
        throw error;
      });
      const ours = attestations.find((a) => a.data.slot === duty.slot && a.data.index === duty.committeeIndex && a.aggregationBits.get(duty.validatorCommitteeIndex));
      if (ours !== undefined) return slot;
    }
    return undefined;
  };

  /**
   * Waits for an epoch from `fromEpoch` on in which every validator's attestation is included,
   * trying at most `epochs` epochs; returns it, with the inclusion slots.
   */
  const attestedEpoch = async (fromEpoch: number, epochs: number): Promise<{ epoch: number; included: number[] }> => {
    for (let epoch = fromEpoch; epoch < fromEpoch + epochs; epoch++) {
      await untilSlot(epoch * SLOTS_PER_EPOCH - SLOTS_PER_EPOCH); // duties are served one epoch ahead
      const { duties } = await client.attesterDuties(epoch, VALIDATORS);
      const included: (number | undefined)[] = duties.map(() => undefined);
      const last = Math.max(...duties.map((d) => d.slot)) + 4;
      while (included.includes(undefined) && currentSlot() <= last) {
        await untilSlot(currentSlot() + 1, 1 / 4);
        for (const [i, duty] of duties.entries()) included[i] ??= await inclusion(duty);
      }
      if (!included.includes(undefined)) return { epoch, included: included as number[] };
    }
    throw new Error(`no epoch from ${fromEpoch} to ${fromEpoch + epochs - 1} with both validators' attestations included:\n${diagnostics()}`);
  };

  /**
   * Whether the block at `slot` carries sync committee messages of every validator (their bits in
   * its sync aggregate, from the raw JSON: the minimal preset's sizes are not this process's).
   */
  const syncAggregateHasAll = async (slot: number): Promise<boolean> => {
    const response = await fetch(`${chain.restUrl}/eth/v2/beacon/blocks/${slot}`);
    if (response.status === 404) return false; // a skipped slot
    const body = (await response.json()) as { data: { message: { body: { sync_aggregate: { sync_committee_bits: string } } } } };
    const bits = Buffer.from(body.data.message.body.sync_aggregate.sync_committee_bits.slice(2), "hex");
    const duties = await client.syncDuties(Math.floor(slot / SLOTS_PER_EPOCH), VALIDATORS);
    return duties.length === VALIDATORS.length && duties.every((d) => d.validatorSyncCommitteeIndices.some((i) => ((bits[i >> 3]! >> (i & 7)) & 1) === 1));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nektar-node-lodestar-"));
    // Slots of 3 s: room for a round among four processes on a loaded 2-core machine.
    chain = await startLodestarDevChain({ genesisValidators: 8, startValidators: "0..5", secondsPerSlot: 3 });
    client = new BeaconClient(chain.restUrl);
    cluster = await writeNodeCluster(join(dir, "cluster"), chain, { validators: VALIDATORS, operators: 4, threshold: 3 });
  }, 120_000);

  afterAll(async () => {
    await validatorClient?.stop();
    await run?.stop();
    await chain?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("(a) three of four nodes attest for validators 6 and 7, and their attestations are included", async () => {
    run = await startNodes(cluster, [0, 1, 2], { validatorClient: true, logDir: join(dir, "logs-a") });
    // The nodes need a few seconds to start over the TypeScript sources and find their peers.
    const fromEpoch = Math.floor(currentSlot() / SLOTS_PER_EPOCH) + 2;
    const { epoch, included } = await attestedEpoch(fromEpoch, 4);
    expect(included.every((slot) => slot > (epoch - 1) * SLOTS_PER_EPOCH)).toBe(true);
    // The node API shows the duty on the share.
    const report = (await (await fetch(`${run.apiUrl(0)}/v1/node`)).json()) as { connectedPeers: number; keyShares: { name: string; lastDuty?: { type: string } }[] };
    expect(report.connectedPeers).toBe(2);
    expect(report.keyShares.map((s) => s.name)).toEqual(["validator-0", "validator-1"]);
    expect(report.keyShares.some((s) => s.lastDuty !== undefined)).toBe(true);
  }, 240_000);

  it("(b) Lodestar's validator client signs through a node's Web3Signer API: its sync committee messages and attestations are included", async () => {
    await run?.stop();
    run = await startNodes(cluster, [0, 1, 2, 3], { validatorClient: false, logDir: join(dir, "logs-b") });
    const pubkeys = VALIDATORS.map((v) => toHex(interopSecretKey(v).toPublicKey().toBytes()));
    // Ready: identity, shares and the beacon node; then the validator client may start.
    const deadline = Date.now() + 60_000;
    while ((await fetch(`${run.apiUrl(0)}/readyz`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error(`node 0 not ready in 60 s:\n${diagnostics()}`);
      await sleep(500);
    }
    expect(await (await fetch(`${run.apiUrl(0)}/api/v1/eth2/publicKeys`)).json()).toEqual(pubkeys);
    validatorClient = startLodestarValidator(chain, { externalSignerUrl: run.apiUrl(0), pubkeys, dir: join(dir, "validator") });
    const fromEpoch = Math.floor(currentSlot() / SLOTS_PER_EPOCH) + 2;
    // Its sync committee messages (signed every slot): blocks of that epoch aggregate both validators'.
    await untilSlot((fromEpoch + 1) * SLOTS_PER_EPOCH);
    const withBoth = [];
    for (let slot = fromEpoch * SLOTS_PER_EPOCH; slot < (fromEpoch + 1) * SLOTS_PER_EPOCH; slot++) if (await syncAggregateHasAll(slot)) withBoth.push(slot);
    if (withBoth.length === 0) throw new Error(`no block of epoch ${fromEpoch} aggregates both validators' sync committee messages:\n${diagnostics()}`);
    // Its attestations (it signs selection proofs up to two epochs ahead when it fetches duties).
    await attestedEpoch(fromEpoch + 1, 3);
    // Signed through node 0's Web3Signer API, every request checked against the client's own signing root.
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.ports[0]!.metrics}/metrics`)).text();
    for (const type of ["ATTESTATION", "AGGREGATION_SLOT", "SYNC_COMMITTEE_MESSAGE", "SYNC_COMMITTEE_SELECTION_PROOF", "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF"]) {
      expect(metrics).toMatch(new RegExp(`^nektar_web3signer_request_duration_seconds_count\\{type="${type}",status="200"\\} [1-9]`, "m"));
    }
    expect(validatorClient.exited()).toBeUndefined();
  }, 360_000);
});
