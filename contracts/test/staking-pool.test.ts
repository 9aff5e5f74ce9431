/**
 * The staking pool on anvil: deposits and the rate, validators funded with deposit data made by
 * services/core (verified on-chain, then checked by the deposit contract), the oracle,
 * withdrawals from request to claim.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SecretKey } from "@chainsafe/blst";
import { ssz } from "@lodestar/types";
import { hexlify, parseEther, toUtf8Bytes } from "ethers";

import { events, g1FromPublicKey, g2FromSignature } from "../client/index.js";
import type { DepositContractEvents, NektarContracts, StakingPoolEvents } from "../client/index.js";
import { MAINNET } from "../../services/core/eth/networks.js";
import { depositDataEntry, depositMessage, depositSigningRoot, eth1WithdrawalCredentials } from "../../services/core/eth/deposit.js";
import { fromHex } from "../../services/core/hex.js";
import { NETWORK, deployFixture, makeOperator } from "./fixture.js";
import type { Fixture, Operator } from "./fixture.js";
import { SETUP_TIMEOUT_MS, expectRevert } from "./helpers.js";

/** Deposit data for a fresh validator key as the DKG would output it (a threshold signature is an ordinary one). */
function dkgDeposit(seed: number, pool: string, forkVersion = NETWORK.genesisForkVersion) {
  const key = SecretKey.fromKeygen(new Uint8Array(32).fill(seed), toUtf8Bytes("validator"));
  const pubkey = key.toPublicKey();
  const message = depositMessage(pubkey.toBytes(true), eth1WithdrawalCredentials(pool), 32e9);
  const signature = key.sign(depositSigningRoot(message, forkVersion));
  const network = forkVersion === NETWORK.genesisForkVersion ? NETWORK : MAINNET;
  const entry = depositDataEntry({ message, signature: signature.toBytes(true), network });
  return { entry, publicKey: g1FromPublicKey(pubkey), signature: g2FromSignature(signature), root: `0x${entry.deposit_data_root}` };
}

describe("StakingPool", () => {
  let f: Fixture;
  let c: NektarContracts;
  let pool: string;
  let cluster: Operator[];
  let staker: NektarContracts;
  let stakerAddress: string;

  beforeAll(async () => {
    f = await deployFixture();
    c = f.contracts;
    pool = c.addresses.stakingPool;
    cluster = [];
    for (const i of [1, 2, 3, 4]) cluster.push(await makeOperator(f, i, { collateral: parseEther("1") }));
    cluster.sort((a, b) => (a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1));
    staker = await f.as(10);
    stakerAddress = await (await f.anvil.signer(10)).getAddress();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await f?.anvil.stop();
  });

  const operators = (): string[] => cluster.map((o) => o.address);

  it("mints divETH 1:1 on an empty pool and points withdrawal credentials at itself", async () => {
    const supplyBefore = await c.divETH.totalSupply();
    const pooledBefore = await c.stakingPool.totalPooledEther();
    const receipt = await (await staker.stakingPool.deposit(stakerAddress, { value: parseEther("80") })).wait();
    const deposited = events<StakingPoolEvents>(c.stakingPool).one(receipt, "Deposited");
    // The operators' collateral purchases came first, at the same 1:1 rate.
    expect(supplyBefore).toBe(pooledBefore);
    expect(deposited.shares).toBe(parseEther("80"));
    expect(await c.stakingPool.withdrawalCredentials()).toBe(hexlify(eth1WithdrawalCredentials(pool)));
  });

  it("funds a validator with DKG deposit data: signature checked on-chain, root checked by the deposit contract", async () => {
    const d = dkgDeposit(1, pool);
    const buffered = await c.stakingPool.bufferedEther();
    const depositRoot = await c.depositContract.get_deposit_root();
    const receipt = await (await c.stakingPool.depositValidator(d.publicKey, d.signature, d.root, operators(), depositRoot)).wait();

    const deposit = events<DepositContractEvents>(c.depositContract).one(receipt, "DepositEvent");
    expect(deposit.pubkey).toBe(`0x${d.entry.pubkey}`);
    expect(deposit.withdrawal_credentials).toBe(`0x${d.entry.withdrawal_credentials}`);
    expect(deposit.signature).toBe(`0x${d.entry.signature}`);
    expect(await c.depositContract.get_deposit_root()).toBe(
      hexlify(ssz.phase0.DepositDataRootList.hashTreeRoot([fromHex(d.entry.deposit_data_root, "root", 32)])),
    );
    expect(events<StakingPoolEvents>(c.stakingPool).one(receipt, "ValidatorDeposited").operators).toEqual(operators());
    expect(await c.stakingPool.bufferedEther()).toBe(buffered - parseEther("32"));
    expect(await c.stakingPool.depositedValidators()).toBe(1n);
    for (const o of cluster) expect((await c.operatorRegistry.collateralOf(o.address)).activeShares).toBe(1n);
  });

  it("rejects deposit data signed for another network or by another key", async () => {
    const root = await c.depositContract.get_deposit_root();
    const wrongFork = dkgDeposit(2, pool, MAINNET.genesisForkVersion);
    await expectRevert(c.stakingPool.depositValidator(wrongFork.publicKey, wrongFork.signature, wrongFork.root, operators(), root), "InvalidDepositSignature");
    const a = dkgDeposit(3, pool);
    const b = dkgDeposit(4, pool);
    await expectRevert(c.stakingPool.depositValidator(a.publicKey, b.signature, a.root, operators(), root), "InvalidDepositSignature");
  });

  it("rejects a reused key, a changed deposit root, unsorted operators and operators without free collateral", async () => {
    const root = await c.depositContract.get_deposit_root();
    const again = dkgDeposit(1, pool);
    await expectRevert(c.stakingPool.depositValidator(again.publicKey, again.signature, again.root, operators(), root), "PublicKeyAlreadyDeposited");
    const d = dkgDeposit(5, pool);
    await expectRevert(c.stakingPool.depositValidator(d.publicKey, d.signature, d.root, operators(), `0x${"00".repeat(32)}`), "DepositRootChanged");
    await expectRevert(c.stakingPool.depositValidator(d.publicKey, d.signature, d.root, [...operators()].reverse(), root), "OperatorsNotSorted");
    // Each operator posted 1 divETH and holds one share already.
    await expectRevert(c.stakingPool.depositValidator(d.publicKey, d.signature, d.root, operators(), root), "InsufficientCollateral");
    await expectRevert(staker.stakingPool.depositValidator(d.publicKey, d.signature, d.root, operators(), root), "AccessControlUnauthorizedAccount");
  });

  it("moves the rate with the oracle's report and sweeps ETH that arrived without a call", async () => {
    const rateBefore = await c.stakingPool.convertToEther(parseEther("1"));
    // The validator appeared with 32.5 ETH: rewards.
    await (await c.stakingPool.reportBeaconState(1, parseEther("32.5"))).wait();
    const rateAfter = await c.stakingPool.convertToEther(parseEther("1"));
    expect(rateAfter).toBeGreaterThan(rateBefore);
    const sharesFor10 = await c.stakingPool.convertToShares(parseEther("10"));
    expect(sharesFor10).toBeLessThan(parseEther("10"));

    // 0.5 ETH skimmed by the beacon chain lands in the pool's balance; the oracle reports 32 ETH left.
    const balance = await f.anvil.provider.getBalance(pool);
    await f.anvil.provider.send("anvil_setBalance", [pool, `0x${(balance + parseEther("0.5")).toString(16)}`]);
    const receipt = await (await c.stakingPool.reportBeaconState(1, parseEther("32"))).wait();
    const report = events<StakingPoolEvents>(c.stakingPool).one(receipt, "BeaconStateReported");
    expect(report.sweptEther).toBe(parseEther("0.5"));
    expect(await c.stakingPool.convertToEther(parseEther("1"))).toBe(rateAfter);
    await expectRevert(c.stakingPool.reportBeaconState(2, parseEther("64")), "InvalidBeaconReport");
  });

  it("queues, finalizes and pays withdrawals once", async () => {
    const shares = parseEther("5");
    await (await staker.divETH.approve(pool, shares)).wait();
    const requested = events<StakingPoolEvents>(c.stakingPool).one(await (await staker.stakingPool.requestWithdrawal(shares)).wait(), "WithdrawalRequested");
    expect(requested.etherAtRequest).toBe(await c.stakingPool.convertToEther(shares));
    await expectRevert(staker.stakingPool.claimWithdrawal(requested.requestId), "RequestNotFinalized");
    await expectRevert(staker.stakingPool.finalizeWithdrawals(1), "AccessControlUnauthorizedAccount");

    const supply = await c.divETH.totalSupply();
    const finalized = events<StakingPoolEvents>(c.stakingPool).one(await (await c.stakingPool.finalizeWithdrawals(1)).wait(), "WithdrawalsFinalized");
    expect(finalized.etherAmount).toBe(requested.etherAtRequest);
    expect(await c.divETH.totalSupply()).toBe(supply - shares);

    const other = await f.as(11);
    await expectRevert(other.stakingPool.claimWithdrawal(requested.requestId), "NotRequestOwner");
    const before = await f.anvil.provider.getBalance(stakerAddress);
    const receipt = await (await staker.stakingPool.claimWithdrawal(requested.requestId)).wait();
    const after = await f.anvil.provider.getBalance(stakerAddress);
    expect(after - before + receipt!.gasUsed * receipt!.gasPrice).toBe(requested.etherAtRequest);
    await expectRevert(staker.stakingPool.claimWithdrawal(requested.requestId), "RequestAlreadyClaimed");
  });

  it("releases the operators' collateral when the validator exits", async () => {
    const others = cluster.slice(1).map((o) => o.address);
    await expectRevert(c.stakingPool.markValidatorExited(0, others), "OperatorsMismatch");
    await (await c.stakingPool.markValidatorExited(0, operators())).wait();
    for (const o of cluster) {
      expect((await c.operatorRegistry.collateralOf(o.address)).activeShares).toBe(0n);
      expect(await c.operatorRegistry.freeCollateralOf(o.address)).toBe(parseEther("1"));
    }
    await expectRevert(c.stakingPool.markValidatorExited(0, operators()), "ValidatorAlreadyExited");
  });
});
