// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// Restakers delegate divETH (or ETH, deposited on the way) to operators; an operator's stake
/// is the divETH delegated to it and not queued for withdrawal, checkpointed per block.
interface IDelegationManager {
    event Delegated(address indexed staker, address indexed operator, uint256 amount, uint256 shares);
    event WithdrawalQueued(uint256 indexed withdrawalId, address indexed staker, address indexed operator, uint256 shares, uint256 completableAtBlock);
    event WithdrawalCompleted(uint256 indexed withdrawalId, address indexed staker, address indexed operator, uint256 amount);
    event OperatorStakeUpdated(address indexed operator, uint256 stake);
    event OperatorSlashed(address indexed operator, uint16 bps, uint256 amount);
    event StakeObserverSet(address observer);

    error OperatorNotRegistered(address operator);
    error ZeroAmount();
    error OperatorFullySlashed(address operator);
    error InsufficientShares(address operator, uint256 requested, uint256 available);
    error UnknownWithdrawal(uint256 withdrawalId);
    error NotWithdrawalOwner(uint256 withdrawalId, address caller);
    error WithdrawalAlreadyCompleted(uint256 withdrawalId);
    error WithdrawalDelayNotElapsed(uint256 withdrawalId, uint256 completableAtBlock);
    error BpsOutOfRange(uint16 bps);
    error StakeObserverAlreadySet();

    function withdrawalDelayBlocks() external view returns (uint32);
    function stakeOf(address operator) external view returns (uint256);
    function stakeAt(address operator, uint256 blockNumber) external view returns (uint256);
    function slash(address operator, uint16 bps) external returns (uint256 amount);
}

/// Told of every change of an operator's stake (the AVS directory keeps per-AVS totals).
interface IStakeObserver {
    function onStakeUpdated(address operator, uint256 stake) external;
}
