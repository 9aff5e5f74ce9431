// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {G1Point} from "../bls/BLS12381.sol";

/// What an AVS asks of the operators answering its tasks.
struct TaskParams {
    /// The only account that may create the AVS's tasks.
    address taskCreator;
    /// Decides challenges (an account, a committee's multisig or a contract that recomputes).
    address arbiter;
    /// Share of the stake at the reference block that must sign, in basis points.
    uint16 quorumBps;
    /// A task cannot be created while fewer operators, or less total stake, secure the AVS.
    uint32 minOperators;
    uint96 minTotalStake;
    uint32 responseWindowBlocks;
    uint32 challengeWindowBlocks;
    uint32 resolutionWindowBlocks;
    uint96 challengeBond;
}

/// How the AVS's operators are slashed, and who can stop a slash.
struct SlashingParams {
    uint16 stakeBps;
    uint16 collateralBps;
    uint32 vetoWindowBlocks;
    /// Vetoes needed to cancel a slash; 0 with an empty committee (no veto).
    uint8 vetoThreshold;
    address[] vetoCommittee;
}

/// AVSs and the operators that opted in, with per-block history of everything a task's
/// signature check needs: the aggregate public key, the total stake and each member's stake.
interface IAVSDirectory {
    event AVSRegistered(uint32 indexed avsId, address indexed owner, uint96 minOperatorStake, TaskParams task, SlashingParams slashing, string metadataURI);
    event OperatorOptedIn(uint32 indexed avsId, address indexed operator, bytes32 indexed operatorId, uint256 stake);
    event OperatorOptedOut(uint32 indexed avsId, address indexed operator, bytes32 indexed operatorId);
    event MemberStakeUpdated(uint32 indexed avsId, bytes32 indexed operatorId, uint256 stake, uint256 totalStake);

    error UnknownAVS(uint32 avsId);
    error ZeroAddress(string field);
    error QuorumOutOfRange(uint16 quorumBps);
    error BpsOutOfRange(string field, uint16 bps);
    error VetoThresholdOutOfRange(uint8 threshold, uint256 committeeSize);
    error DuplicateVetoer(address vetoer);
    error WindowsExceedWithdrawalDelay(uint256 windowsBlocks, uint256 withdrawalDelayBlocks);
    error ZeroWindow(string field);
    error OperatorNotRegistered(address operator);
    error AlreadyOptedIn(uint32 avsId, address operator);
    error NotOptedIn(uint32 avsId, address operator);
    error TooManyAVSs(address operator, uint256 max);
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    error NotAMember(uint32 avsId, bytes32 operatorId, uint256 blockNumber);
    error OnlyDelegationManager(address caller);

    function taskParams(uint32 avsId) external view returns (TaskParams memory);
    function slashingParams(uint32 avsId) external view returns (SlashingParams memory);
    function ownerOf(uint32 avsId) external view returns (address);
    function isVetoer(uint32 avsId, address account) external view returns (bool);
    function quorumAt(uint32 avsId, uint256 blockNumber) external view returns (G1Point memory apk, uint256 totalStake, uint256 operatorCount);
    function nonSignerStakeAt(uint32 avsId, bytes32[] calldata operatorIds, uint256 blockNumber) external view returns (uint256 stake);
    function memberAt(uint32 avsId, bytes32 operatorId, uint256 blockNumber) external view returns (bool member, uint256 stake);
}
