// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IDelegationManager, IStakeObserver} from "../interfaces/IDelegationManager.sol";
import {IDivETH} from "../interfaces/IDivETH.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IStakingPool} from "../interfaces/IStakingPool.sol";
import {History} from "../libraries/History.sol";

/// @title Delegation manager
/// @notice Each operator has a vault of delegated divETH; delegators hold vault shares, so a
/// slash (which burns part of the vault) reduces every delegator pro rata, including those
/// whose withdrawal is queued: queued shares leave the operator's stake at once but stay in the
/// vault, slashable, until the delay has passed. Tasks are judged by the stake at their
/// reference block, so the delay must outlast every window in which a task can lead to a slash
/// (the AVS directory checks this for each AVS).
contract DelegationManager is IDelegationManager, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IDivETH;
    using History for History.Trace;

    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    IDivETH public immutable divETH;
    IStakingPool public immutable pool;
    IOperatorRegistry public immutable registry;
    uint32 public immutable withdrawalDelayBlocks;
    IStakeObserver public stakeObserver;

    struct Vault {
        uint128 totalShares;
        uint128 queuedShares;
        uint256 assets; // divETH held for this operator, queued withdrawals included
    }

    struct Withdrawal {
        address staker;
        uint32 completableAtBlock;
        bool completed;
        address operator;
        uint128 shares;
    }

    mapping(address operator => Vault) private _vaults;
    mapping(address operator => mapping(address staker => uint256)) private _shares;
    mapping(address operator => History.Trace) private _stake;
    Withdrawal[] private _withdrawals;

    constructor(IStakingPool pool_, IOperatorRegistry registry_, uint32 withdrawalDelayBlocks_, address admin) {
        pool = pool_;
        divETH = pool_.divETH();
        registry = registry_;
        withdrawalDelayBlocks = withdrawalDelayBlocks_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// Wiring, once: the AVS directory reads stakes from here, so it is deployed after.
    function setStakeObserver(IStakeObserver observer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(stakeObserver) != address(0)) revert StakeObserverAlreadySet();
        stakeObserver = observer;
        emit StakeObserverSet(address(observer));
    }

    /// Delegates `amount` divETH (approve first) to `operator`.
    function delegate(address operator, uint256 amount) external nonReentrant returns (uint256 shares) {
        divETH.safeTransferFrom(msg.sender, address(this), amount);
        return _delegate(msg.sender, operator, amount);
    }

    /// Deposits msg.value into the pool and delegates the divETH it mints to `operator`.
    function delegateETH(address operator) external payable nonReentrant returns (uint256 shares) {
        if (msg.value == 0) revert ZeroAmount();
        uint256 amount = pool.deposit{value: msg.value}(address(this));
        return _delegate(msg.sender, operator, amount);
    }

    /// Takes `shares` out of the operator's stake now; their divETH is paid by
    /// completeWithdrawal after withdrawalDelayBlocks, less any slash in between.
    function queueWithdrawal(address operator, uint256 shares) external nonReentrant returns (uint256 withdrawalId) {
        if (shares == 0) revert ZeroAmount();
        uint256 available = _shares[operator][msg.sender];
        if (shares > available) revert InsufficientShares(operator, shares, available);
        _shares[operator][msg.sender] = available - shares;
        _vaults[operator].queuedShares += SafeCast.toUint128(shares);
        uint256 completableAt = block.number + withdrawalDelayBlocks;
        withdrawalId = _withdrawals.length;
        _withdrawals.push(Withdrawal(msg.sender, SafeCast.toUint32(completableAt), false, operator, SafeCast.toUint128(shares)));
        emit WithdrawalQueued(withdrawalId, msg.sender, operator, shares, completableAt);
        _updateStake(operator);
    }

    function completeWithdrawal(uint256 withdrawalId) external nonReentrant returns (uint256 amount) {
        if (withdrawalId >= _withdrawals.length) revert UnknownWithdrawal(withdrawalId);
        Withdrawal storage w = _withdrawals[withdrawalId];
        if (w.staker != msg.sender) revert NotWithdrawalOwner(withdrawalId, msg.sender);
        if (w.completed) revert WithdrawalAlreadyCompleted(withdrawalId);
        if (block.number < w.completableAtBlock) revert WithdrawalDelayNotElapsed(withdrawalId, w.completableAtBlock);
        w.completed = true;
        Vault storage vault = _vaults[w.operator];
        amount = Math.mulDiv(w.shares, vault.assets, vault.totalShares);
        vault.totalShares -= w.shares;
        vault.queuedShares -= w.shares;
        vault.assets -= amount;
        emit WithdrawalCompleted(withdrawalId, msg.sender, w.operator, amount);
        _updateStake(w.operator);
        divETH.safeTransfer(msg.sender, amount);
    }

    /// The slasher: burns `bps` of the operator's vault, queued withdrawals included.
    function slash(address operator, uint16 bps) external onlyRole(SLASHER_ROLE) nonReentrant returns (uint256 amount) {
        if (bps > 10_000) revert BpsOutOfRange(bps);
        Vault storage vault = _vaults[operator];
        amount = vault.assets * bps / 10_000;
        vault.assets -= amount;
        emit OperatorSlashed(operator, bps, amount);
        _updateStake(operator);
        if (amount > 0) divETH.burn(amount);
    }

    // ------------------------------------------------------------------ views

    function stakeOf(address operator) external view returns (uint256) {
        return _stake[operator].latest();
    }

    /// The operator's stake as of the end of `blockNumber` (a past block).
    function stakeAt(address operator, uint256 blockNumber) external view returns (uint256) {
        return _stake[operator].valueAt(blockNumber);
    }

    function sharesOf(address operator, address staker) external view returns (uint256) {
        return _shares[operator][staker];
    }

    function vaultOf(address operator) external view returns (Vault memory) {
        return _vaults[operator];
    }

    function withdrawal(uint256 withdrawalId) external view returns (Withdrawal memory) {
        if (withdrawalId >= _withdrawals.length) revert UnknownWithdrawal(withdrawalId);
        return _withdrawals[withdrawalId];
    }

    // ------------------------------------------------------------------ internal

    function _delegate(address staker, address operator, uint256 amount) private returns (uint256 shares) {
        if (!registry.isRegistered(operator)) revert OperatorNotRegistered(operator);
        if (amount == 0) revert ZeroAmount();
        Vault storage vault = _vaults[operator];
        if (vault.totalShares == 0) {
            shares = amount;
        } else {
            // A vault slashed to nothing has shares worth nothing: new money would be diluted into them.
            if (vault.assets == 0) revert OperatorFullySlashed(operator);
            shares = Math.mulDiv(amount, vault.totalShares, vault.assets);
        }
        if (shares == 0) revert ZeroAmount();
        _shares[operator][staker] += shares;
        vault.totalShares += SafeCast.toUint128(shares);
        vault.assets += amount;
        emit Delegated(staker, operator, amount, shares);
        _updateStake(operator);
    }

    /// Active stake = the vault's assets that back non-queued shares; checkpointed, then pushed
    /// to the observer so per-AVS totals stay exact without anyone having to sync them.
    function _updateStake(address operator) private {
        Vault storage vault = _vaults[operator];
        uint256 stake = vault.totalShares == 0
            ? 0
            : Math.mulDiv(vault.totalShares - vault.queuedShares, vault.assets, vault.totalShares);
        _stake[operator].push(SafeCast.toUint96(stake));
        emit OperatorStakeUpdated(operator, stake);
        IStakeObserver observer = stakeObserver;
        if (address(observer) != address(0)) observer.onStakeUpdated(operator, stake);
    }
}
