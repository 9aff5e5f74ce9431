// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Rewards distributor
/// @notice Rewards are computed off-chain; each period the distributor's submitter posts the
/// Merkle root of every account's cumulative rewards and funds the increase. An account claims
/// (cumulative - already claimed) with a proof against the latest root, so a missed period costs
/// nothing and a claim can never be made twice. Leaves are OpenZeppelin StandardMerkleTree
/// leaves of (address account, uint256 cumulativeAmount).
contract RewardsDistributor is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant ROOT_SUBMITTER_ROLE = keccak256("ROOT_SUBMITTER_ROLE");

    IERC20 public immutable token;
    bytes32 public root;
    uint32 public epoch;
    /// Sum of every cumulative amount in the latest root: what the contract has been funded with.
    uint256 public totalCumulative;
    mapping(address account => uint256) public claimed;

    event RootSubmitted(uint32 indexed epoch, bytes32 root, uint256 totalCumulative, uint256 funded);
    event Claimed(address indexed account, uint32 indexed epoch, uint256 amount, uint256 cumulativeAmount);

    error CumulativeTotalDecreased(uint256 total, uint256 previous);
    error InvalidProof(address account, uint256 cumulativeAmount);
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 alreadyClaimed);

    constructor(IERC20 token_, address admin) {
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// Publishes the next period's root; pulls the increase of the total from the submitter.
    function submitRoot(bytes32 newRoot, uint256 newTotalCumulative) external onlyRole(ROOT_SUBMITTER_ROLE) nonReentrant {
        uint256 previous = totalCumulative;
        if (newTotalCumulative < previous) revert CumulativeTotalDecreased(newTotalCumulative, previous);
        root = newRoot;
        totalCumulative = newTotalCumulative;
        uint32 newEpoch = ++epoch;
        uint256 funded = newTotalCumulative - previous;
        emit RootSubmitted(newEpoch, newRoot, newTotalCumulative, funded);
        if (funded > 0) token.safeTransferFrom(msg.sender, address(this), funded);
    }

    /// Pays `account` its unclaimed rewards (anyone may submit the claim; the tokens go to `account`).
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external nonReentrant returns (uint256 amount) {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(account, cumulativeAmount);
        uint256 already = claimed[account];
        if (cumulativeAmount <= already) revert NothingToClaim(account, cumulativeAmount, already);
        amount = cumulativeAmount - already;
        claimed[account] = cumulativeAmount;
        emit Claimed(account, epoch, amount, cumulativeAmount);
        token.safeTransfer(account, amount);
    }
}
