/** Rewards: Merkle roots of cumulative amounts built by the client, claims verified by MerkleProof. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { parseEther } from "ethers";

import { buildRewardsTree, events } from "../client/index.js";
import type { NektarContracts, RewardsDistributorEvents } from "../client/index.js";
import { deployFixture } from "./fixture.js";
import type { Fixture } from "./fixture.js";
import { SETUP_TIMEOUT_MS, expectRevert } from "./helpers.js";

describe("RewardsDistributor", () => {
  let f: Fixture;
  let accounts: string[];
  let submitter: NektarContracts;

  beforeAll(async () => {
    f = await deployFixture();
    accounts = await Promise.all([1, 2, 3, 4, 5].map(async (i) => (await f.anvil.signer(i)).getAddress()));
    submitter = f.contracts;
    const deployer = await f.deployer.getAddress();
    await (await submitter.stakingPool.deposit(deployer, { value: parseEther("100") })).wait();
    await (await submitter.divETH.approve(submitter.rewardsDistributor.target, parseEther("100"))).wait();
  }, SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await f?.anvil.stop();
  });

  const claim = async (tree: ReturnType<typeof buildRewardsTree>, account: string) => {
    const { cumulativeAmount, proof } = tree.proof(account);
    return (await f.as(9)).rewardsDistributor.claim(account, cumulativeAmount, proof);
  };

  it("pays each account its cumulative amount once per root, and only the increase after", async () => {
    const period1 = buildRewardsTree(accounts.map((account, i) => ({ account, cumulativeAmount: parseEther(String(i + 1)) })));
    const submitted = events<RewardsDistributorEvents>(submitter.rewardsDistributor).one(
      await (await submitter.rewardsDistributor.submitRoot(period1.root, period1.totalCumulative)).wait(),
      "RootSubmitted",
    );
    expect(submitted.funded).toBe(parseEther("15"));
    for (const account of accounts) await (await claim(period1, account)).wait();
    expect(await f.contracts.divETH.balanceOf(accounts[4]!)).toBe(parseEther("5"));
    await expectRevert(claim(period1, accounts[0]!), "NothingToClaim");

    // Next period: account 0 earned 2 more, the others nothing new.
    const period2 = buildRewardsTree(accounts.map((account, i) => ({ account, cumulativeAmount: parseEther(String(i === 0 ? 3 : i + 1)) })));
    await (await submitter.rewardsDistributor.submitRoot(period2.root, period2.totalCumulative)).wait();
    const claimed = events<RewardsDistributorEvents>(submitter.rewardsDistributor).one(await (await claim(period2, accounts[0]!)).wait(), "Claimed");
    expect([claimed.amount, claimed.cumulativeAmount, claimed.epoch]).toEqual([parseEther("2"), parseEther("3"), 2n]);
    await expectRevert(claim(period2, accounts[0]!), "NothingToClaim");
    await expectRevert(claim(period2, accounts[1]!), "NothingToClaim");
  });

  it("rejects inflated amounts, stale proofs and roots that shrink, and unauthorized submitters", async () => {
    const tree = buildRewardsTree(accounts.map((account) => ({ account, cumulativeAmount: parseEther("10") })));
    await (await submitter.rewardsDistributor.submitRoot(tree.root, tree.totalCumulative)).wait();
    const { proof } = tree.proof(accounts[1]!);
    await expectRevert((await f.as(9)).rewardsDistributor.claim(accounts[1]!, parseEther("11"), proof), "InvalidProof");
    await expectRevert(submitter.rewardsDistributor.submitRoot(tree.root, tree.totalCumulative - 1n), "CumulativeTotalDecreased");
    await expectRevert((await f.as(9)).rewardsDistributor.submitRoot(tree.root, tree.totalCumulative), "AccessControlUnauthorizedAccount");
    // A proof from an earlier root no longer verifies.
    const old = buildRewardsTree(accounts.map((account, i) => ({ account, cumulativeAmount: parseEther(String(i + 1)) })));
    await expectRevert(claim(old, accounts[2]!), "InvalidProof");
  });

  it("builds trees of one and of many leaves whose every proof verifies", async () => {
    const single = buildRewardsTree([{ account: accounts[0]!, cumulativeAmount: 1n }]);
    expect(single.proof(accounts[0]!).proof).toEqual([]);
    expect(() => buildRewardsTree([{ account: accounts[0]!, cumulativeAmount: 1n }, { account: accounts[0]!, cumulativeAmount: 2n }])).toThrow("appears twice");
  });
});
