/**
 * Merkle trees of cumulative rewards for the RewardsDistributor, in the layout of
 * OpenZeppelin's StandardMerkleTree (@openzeppelin/merkle-tree) for leaves (address, uint256):
 * leaf = keccak256(keccak256(abi.encode(account, amount))), leaves sorted by hash, sorted-pair
 * hashing, so proofs verify with MerkleProof and the root matches that library's.
 */
import { AbiCoder, concat, getAddress, keccak256 } from "ethers";

import { NektarError } from "../../services/core/errors.js";

export interface RewardEntry {
  account: string;
  /** Everything the account has earned so far, not this period's increase. */
  cumulativeAmount: bigint;
}

export interface RewardsTree {
  root: string;
  /** Sum of every entry: what the distributor must hold in total. */
  totalCumulative: bigint;
  proof(account: string): { cumulativeAmount: bigint; proof: string[] };
}

export function rewardLeaf(entry: RewardEntry): string {
  return keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [entry.account, entry.cumulativeAmount])));
}

function hashPair(a: string, b: string): string {
  return keccak256(a < b ? concat([a, b]) : concat([b, a]));
}

export function buildRewardsTree(entries: readonly RewardEntry[]): RewardsTree {
  if (entries.length === 0) throw new NektarError("rewards tree: no entries");
  const byAccount = new Map<string, RewardEntry>();
  for (const entry of entries) {
    const account = getAddress(entry.account);
    if (byAccount.has(account)) throw new NektarError(`rewards tree: ${account} appears twice`);
    if (entry.cumulativeAmount < 0n) throw new NektarError(`rewards tree: ${account} has a negative amount`);
    byAccount.set(account, { account, cumulativeAmount: entry.cumulativeAmount });
  }
  const leaves = [...byAccount.values()].map((e) => ({ entry: e, hash: rewardLeaf(e) }));
  leaves.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  // A complete binary tree in an array: node i has children 2i+1 and 2i+2; leaves fill the end,
  // in reverse order.
  const tree: string[] = new Array<string>(2 * leaves.length - 1);
  leaves.forEach((leaf, i) => (tree[tree.length - 1 - i] = leaf.hash));
  for (let i = tree.length - 1 - leaves.length; i >= 0; i--) tree[i] = hashPair(tree[2 * i + 1]!, tree[2 * i + 2]!);
  const position = new Map(leaves.map((leaf, i) => [leaf.entry.account, tree.length - 1 - i]));
  return {
    root: tree[0]!,
    totalCumulative: leaves.reduce((sum, leaf) => sum + leaf.entry.cumulativeAmount, 0n),
    proof(account) {
      const key = getAddress(account);
      let index = position.get(key);
      if (index === undefined) throw new NektarError(`rewards tree: no entry for ${key}`);
      const proof: string[] = [];
      while (index > 0) {
        proof.push(tree[index % 2 === 0 ? index - 1 : index + 1]!);
        index = Math.floor((index - 1) / 2);
      }
      return { cumulativeAmount: byAccount.get(key)!.cumulativeAmount, proof };
    },
  };
}
