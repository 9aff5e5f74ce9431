// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IDivETH} from "./IDivETH.sol";

/// The liquid staking pool: ETH in, divETH out, 32 ETH per distributed validator.
interface IStakingPool {
    event Deposited(address indexed sender, address indexed receiver, uint256 etherAmount, uint256 shares);
    event WithdrawalRequested(uint256 indexed requestId, address indexed owner, uint256 shares, uint256 etherAtRequest);
    event WithdrawalsFinalized(uint256 firstRequestId, uint256 lastRequestId, uint256 etherAmount, uint256 sharesBurned);
    event WithdrawalClaimed(uint256 indexed requestId, address indexed owner, uint256 etherAmount);
    event ValidatorDeposited(uint256 indexed index, bytes pubkey, address[] operators);
    event ValidatorExited(uint256 indexed index, address[] operators);
    event BeaconStateReported(uint64 clValidators, uint256 clBalance, uint256 sweptEther, uint256 totalPooledEther, uint256 totalShares);
    event OperatorRegistrySet(address registry);

    error ZeroAmount();
    error InsufficientBuffer(uint256 needed, uint256 buffered);
    error DepositRootChanged(bytes32 expected, bytes32 actual);
    error PublicKeyAlreadyDeposited(bytes pubkey);
    error InvalidDepositSignature(bytes pubkey);
    error OperatorsNotSorted(uint256 index);
    error NoOperators();
    error UnknownValidator(uint256 index);
    error ValidatorAlreadyExited(uint256 index);
    error OperatorsMismatch(uint256 index);
    error InvalidBeaconReport(uint64 clValidators, uint64 previous, uint64 deposited);
    error UnknownRequest(uint256 requestId);
    error NotRequestOwner(uint256 requestId, address caller);
    error RequestNotFinalized(uint256 requestId);
    error RequestAlreadyClaimed(uint256 requestId);
    error NothingToFinalize(uint256 upTo, uint256 finalized);
    error EtherTransferFailed(address to, uint256 amount);
    error OperatorRegistryAlreadySet();

    function divETH() external view returns (IDivETH);
    function deposit(address receiver) external payable returns (uint256 shares);
    function convertToShares(uint256 etherAmount) external view returns (uint256);
    function convertToEther(uint256 shares) external view returns (uint256);
}
