// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {BLS12381, G1Point} from "../bls/BLS12381.sol";
import {G1Storage, StoredG1} from "../bls/G1Storage.sol";
import {IAVSDirectory, SlashingParams, TaskParams} from "../interfaces/IAVSDirectory.sol";
import {IDelegationManager, IStakeObserver} from "../interfaces/IDelegationManager.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {History} from "../libraries/History.sol";

/// @title AVS directory
/// @notice AVSs register their trust requirements, slashing parameters and veto committee;
/// operators opt in and out. For each AVS the directory keeps, per block, what a task's
/// signature check needs, so verification reads a handful of slots whatever the operator count:
///   - the aggregate public key of its operators, updated by one G1ADD per opt-in or opt-out;
///   - its operator count and total stake (one checkpoint, packed with the key's index);
///   - each member's stake (one checkpoint per member, with a membership bit).
/// Stakes follow delegation changes as they happen (the delegation manager pushes them here).
contract AVSDirectory is IAVSDirectory, IStakeObserver, ReentrancyGuardTransient {
    using History for History.Trace;
    using G1Storage for StoredG1;

    /// Bounds the loop a delegation change runs over the operator's AVSs.
    uint256 public constant MAX_AVS_PER_OPERATOR = 32;

    IOperatorRegistry public immutable registry;
    IDelegationManager public immutable delegation;

    struct AVS {
        address owner;
        uint96 minOperatorStake;
        TaskParams task;
        SlashingParams slashing;
        string metadataURI;
    }

    uint32 public avsCount;
    mapping(uint32 avsId => AVS) private _avss;
    mapping(uint32 avsId => mapping(address => bool)) private _vetoers;
    // Quorum checkpoint: apk index + 1 (0: no key yet) << 128 | operator count << 96 | total stake.
    mapping(uint32 avsId => History.Trace) private _quorum;
    mapping(uint32 avsId => StoredG1[]) private _apks;
    // Member checkpoint: 1 << 96 while opted in | stake.
    mapping(uint32 avsId => mapping(bytes32 operatorId => History.Trace)) private _members;
    mapping(address operator => uint32[]) private _operatorAVSs;
    mapping(uint32 avsId => mapping(address operator => uint256)) private _position; // index + 1

    uint256 private constant MEMBER_BIT = 1 << 96;
    uint256 private constant STAKE_MASK = (1 << 96) - 1;

    constructor(IOperatorRegistry registry_, IDelegationManager delegation_) {
        registry = registry_;
        delegation = delegation_;
    }

    // ------------------------------------------------------------------ AVSs

    /// Registers an AVS owned by the caller. Its parameters are fixed: a task's rules must not
    /// change between its creation and its last possible slash.
    function registerAVS(
        uint96 minOperatorStake,
        TaskParams calldata task,
        SlashingParams calldata slashing,
        string calldata metadataURI
    ) external returns (uint32 avsId) {
        _checkTaskParams(task, slashing.vetoWindowBlocks);
        _checkSlashingParams(slashing);
        avsId = ++avsCount;
        AVS storage avs = _avss[avsId];
        avs.owner = msg.sender;
        avs.minOperatorStake = minOperatorStake;
        avs.task = task;
        avs.slashing.stakeBps = slashing.stakeBps;
        avs.slashing.collateralBps = slashing.collateralBps;
        avs.slashing.vetoWindowBlocks = slashing.vetoWindowBlocks;
        avs.slashing.vetoThreshold = slashing.vetoThreshold;
        for (uint256 i = 0; i < slashing.vetoCommittee.length; ++i) {
            address vetoer = slashing.vetoCommittee[i];
            if (vetoer == address(0)) revert ZeroAddress("vetoCommittee");
            if (_vetoers[avsId][vetoer]) revert DuplicateVetoer(vetoer);
            _vetoers[avsId][vetoer] = true;
            avs.slashing.vetoCommittee.push(vetoer);
        }
        avs.metadataURI = metadataURI;
        emit AVSRegistered(avsId, msg.sender, minOperatorStake, task, slashing, metadataURI);
    }

    function _checkTaskParams(TaskParams calldata task, uint32 vetoWindowBlocks) private view {
        if (task.taskCreator == address(0)) revert ZeroAddress("taskCreator");
        if (task.arbiter == address(0)) revert ZeroAddress("arbiter");
        if (task.quorumBps == 0 || task.quorumBps > 10_000) revert QuorumOutOfRange(task.quorumBps);
        if (task.responseWindowBlocks == 0) revert ZeroWindow("responseWindowBlocks");
        if (task.challengeWindowBlocks == 0) revert ZeroWindow("challengeWindowBlocks");
        if (task.resolutionWindowBlocks == 0) revert ZeroWindow("resolutionWindowBlocks");
        // A slash for a task must be executable while the stake at its reference block is
        // still in the vaults: every window between the two must fit in the withdrawal delay.
        uint256 windows = uint256(task.responseWindowBlocks) + task.challengeWindowBlocks + task.resolutionWindowBlocks
            + vetoWindowBlocks;
        uint256 delay = delegation.withdrawalDelayBlocks();
        if (windows >= delay) revert WindowsExceedWithdrawalDelay(windows, delay);
    }

    function _checkSlashingParams(SlashingParams calldata slashing) private pure {
        if (slashing.stakeBps > 10_000) revert BpsOutOfRange("stakeBps", slashing.stakeBps);
        if (slashing.collateralBps > 10_000) revert BpsOutOfRange("collateralBps", slashing.collateralBps);
        uint256 size = slashing.vetoCommittee.length;
        bool thresholdOk = size == 0 ? slashing.vetoThreshold == 0 : slashing.vetoThreshold >= 1 && slashing.vetoThreshold <= size;
        if (!thresholdOk) revert VetoThresholdOutOfRange(slashing.vetoThreshold, size);
        if (size > 0 && slashing.vetoWindowBlocks == 0) revert ZeroWindow("vetoWindowBlocks");
    }

    // ------------------------------------------------------------------ operators

    /// Opts the caller in: its key joins the AVS's aggregate key, its stake the AVS's total.
    function optIn(uint32 avsId) external nonReentrant {
        AVS storage avs = _avs(avsId);
        if (!registry.isRegistered(msg.sender)) revert OperatorNotRegistered(msg.sender);
        if (_position[avsId][msg.sender] != 0) revert AlreadyOptedIn(avsId, msg.sender);
        uint32[] storage list = _operatorAVSs[msg.sender];
        if (list.length >= MAX_AVS_PER_OPERATOR) revert TooManyAVSs(msg.sender, MAX_AVS_PER_OPERATOR);
        uint256 stake = delegation.stakeOf(msg.sender);
        if (stake < avs.minOperatorStake) revert StakeBelowMinimum(stake, avs.minOperatorStake);

        list.push(avsId);
        _position[avsId][msg.sender] = list.length;
        bytes32 operatorId = registry.operatorIdOf(msg.sender);
        (uint256 apkIndex, uint256 count, uint256 total) = _unpackQuorum(_quorum[avsId].latest());
        G1Point memory apk = BLS12381.add(_apk(avsId, apkIndex), registry.publicKeyOf(msg.sender));
        _apks[avsId].push(G1Storage.store(apk));
        _quorum[avsId].push(_packQuorum(_apks[avsId].length, count + 1, total + stake));
        _members[avsId][operatorId].push(uint224(MEMBER_BIT | stake));
        emit OperatorOptedIn(avsId, msg.sender, operatorId, stake);
    }

    /// Opts the caller out from the next block on. Tasks referencing earlier blocks still count
    /// it (and can still get it slashed).
    function optOut(uint32 avsId) external nonReentrant {
        _avs(avsId);
        uint256 position = _position[avsId][msg.sender];
        if (position == 0) revert NotOptedIn(avsId, msg.sender);
        uint32[] storage list = _operatorAVSs[msg.sender];
        uint32 last = list[list.length - 1];
        list[position - 1] = last;
        _position[last][msg.sender] = position;
        list.pop();
        delete _position[avsId][msg.sender];

        bytes32 operatorId = registry.operatorIdOf(msg.sender);
        uint256 stake = uint256(_members[avsId][operatorId].latest()) & STAKE_MASK;
        (uint256 apkIndex, uint256 count, uint256 total) = _unpackQuorum(_quorum[avsId].latest());
        G1Point memory apk = BLS12381.add(_apk(avsId, apkIndex), BLS12381.negate(registry.publicKeyOf(msg.sender)));
        _apks[avsId].push(G1Storage.store(apk));
        _quorum[avsId].push(_packQuorum(_apks[avsId].length, count - 1, total - stake));
        _members[avsId][operatorId].push(0);
        emit OperatorOptedOut(avsId, msg.sender, operatorId);
    }

    /// @inheritdoc IStakeObserver
    function onStakeUpdated(address operator, uint256 stake) external {
        if (msg.sender != address(delegation)) revert OnlyDelegationManager(msg.sender);
        uint32[] storage list = _operatorAVSs[operator];
        if (list.length == 0) return;
        bytes32 operatorId = registry.operatorIdOf(operator);
        for (uint256 i = 0; i < list.length; ++i) {
            uint32 avsId = list[i];
            uint256 previous = uint256(_members[avsId][operatorId].latest()) & STAKE_MASK;
            _members[avsId][operatorId].push(uint224(MEMBER_BIT | stake));
            (uint256 apkIndex, uint256 count, uint256 total) = _unpackQuorum(_quorum[avsId].latest());
            total = total - previous + stake;
            _quorum[avsId].push(_packQuorum(apkIndex, count, total));
            emit MemberStakeUpdated(avsId, operatorId, stake, total);
        }
    }

    // ------------------------------------------------------------------ views

    function taskParams(uint32 avsId) external view returns (TaskParams memory) {
        return _avs(avsId).task;
    }

    function slashingParams(uint32 avsId) external view returns (SlashingParams memory) {
        return _avs(avsId).slashing;
    }

    function ownerOf(uint32 avsId) external view returns (address) {
        return _avs(avsId).owner;
    }

    function minOperatorStakeOf(uint32 avsId) external view returns (uint256) {
        return _avs(avsId).minOperatorStake;
    }

    function metadataURIOf(uint32 avsId) external view returns (string memory) {
        return _avs(avsId).metadataURI;
    }

    function isVetoer(uint32 avsId, address account) external view returns (bool) {
        return _vetoers[avsId][account];
    }

    function avsIdsOf(address operator) external view returns (uint32[] memory) {
        return _operatorAVSs[operator];
    }

    /// The aggregate key, total stake and operator count of the AVS at the end of `blockNumber`.
    function quorumAt(uint32 avsId, uint256 blockNumber)
        external
        view
        returns (G1Point memory apk, uint256 totalStake, uint256 operatorCount)
    {
        uint256 apkIndex;
        (apkIndex, operatorCount, totalStake) = _unpackQuorum(_quorum[avsId].valueAt(blockNumber));
        apk = _apk(avsId, apkIndex);
    }

    /// The summed stake of `operatorIds` at `blockNumber`; reverts unless each was a member then.
    function nonSignerStakeAt(uint32 avsId, bytes32[] calldata operatorIds, uint256 blockNumber) external view returns (uint256 stake) {
        mapping(bytes32 => History.Trace) storage members = _members[avsId];
        for (uint256 i = 0; i < operatorIds.length; ++i) {
            uint256 value = members[operatorIds[i]].valueAt(blockNumber);
            if (value & MEMBER_BIT == 0) revert NotAMember(avsId, operatorIds[i], blockNumber);
            // Each stake is below 2^96 and there are far fewer than 2^160 ids.
            unchecked {
                stake += value & STAKE_MASK;
            }
        }
    }

    function memberAt(uint32 avsId, bytes32 operatorId, uint256 blockNumber) external view returns (bool member, uint256 stake) {
        uint256 value = _members[avsId][operatorId].valueAt(blockNumber);
        return (value & MEMBER_BIT != 0, value & STAKE_MASK);
    }

    // ------------------------------------------------------------------ internal

    function _avs(uint32 avsId) private view returns (AVS storage avs) {
        avs = _avss[avsId];
        if (avs.owner == address(0)) revert UnknownAVS(avsId);
    }

    function _apk(uint32 avsId, uint256 apkIndex) private view returns (G1Point memory) {
        if (apkIndex == 0) return G1Point(0, 0, 0, 0);
        return _apks[avsId][apkIndex - 1].load();
    }

    function _packQuorum(uint256 apkIndex, uint256 count, uint256 total) private pure returns (uint224) {
        return uint224((uint256(SafeCast.toUint96(apkIndex)) << 128) | (uint256(SafeCast.toUint32(count)) << 96) | SafeCast.toUint96(total));
    }

    function _unpackQuorum(uint224 value) private pure returns (uint256 apkIndex, uint256 count, uint256 total) {
        uint256 v = value;
        return (v >> 128, (v >> 96) & type(uint32).max, v & STAKE_MASK);
    }
}
