// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {BLS12381, G1Point, G2Point} from "../bls/BLS12381.sol";
import {IAVSDirectory, TaskParams} from "../interfaces/IAVSDirectory.sol";
import {IDelegationManager} from "../interfaces/IDelegationManager.sol";
import {ChallengeStatus, ITaskManager, Task, TaskResponse} from "../interfaces/ITaskManager.sol";

/// @title Task manager
/// @notice An AVS creates a task; its operators compute the result off-chain, each signs
/// responseDigest(taskId, resultHash) with its BLS12-381 key, and an aggregator submits the
/// aggregate signature with the list of operators that did not sign. The check costs the same
/// for 10 or 10,000 operators, growing only with the non-signers:
///   signing key  = aggregate key of the AVS at the reference block - sum of non-signer keys
///   signed stake = total stake at the reference block - stake of the non-signers
///   e(signing key, H(digest)) == e(G1, signature), through the EIP-2537 pairing precompile.
/// A response can be challenged within a window, with a bond; the AVS's arbiter decides, and an
/// upheld challenge is evidence for the Slasher.
contract TaskManager is ITaskManager, ReentrancyGuardTransient {
    /// Domain of the signed digest: a signature for one task, chain or contract is no
    /// signature for another.
    bytes32 public constant RESPONSE_TYPEHASH = keccak256("nektar.TaskResponse(uint256 chainId,address taskManager,uint32 taskId,bytes32 resultHash)");

    IAVSDirectory public immutable directory;
    /// Read once: the stake at a reference block stays slashable this many blocks.
    uint256 public immutable withdrawalDelayBlocks;

    struct Challenge {
        address challenger;
        uint32 openedBlock;
        uint32 avsId;
        ChallengeStatus status;
        uint96 bond;
    }

    uint32 public taskCount;
    mapping(uint32 taskId => bytes32) private _taskHashes;
    mapping(uint32 taskId => bytes32) private _responseHashes;
    mapping(uint32 taskId => Challenge) private _challenges;
    /// Bonds owed (pull payments: a reverting recipient cannot block a resolution).
    mapping(address account => uint256) public bondCredits;

    constructor(IAVSDirectory directory_, IDelegationManager delegation_) {
        directory = directory_;
        withdrawalDelayBlocks = delegation_.withdrawalDelayBlocks();
    }

    // ------------------------------------------------------------------ tasks

    /// Creates a task for `avsId` (its task creator only), judged by stake and keys as of the
    /// end of `referenceBlock` - normally block.number - 1; an older block lets an AVS pin the
    /// operator set it computed against, within the withdrawal delay.
    function createTask(uint32 avsId, bytes calldata input, uint32 referenceBlock) external returns (uint32 taskId) {
        TaskParams memory params = directory.taskParams(avsId);
        if (msg.sender != params.taskCreator) revert NotTaskCreator(avsId, msg.sender);
        if (referenceBlock >= block.number) revert FutureReferenceBlock(referenceBlock, block.number);
        _requireFresh(referenceBlock);
        (, uint256 totalStake, uint256 operatorCount) = directory.quorumAt(avsId, referenceBlock);
        if (operatorCount < params.minOperators) revert TooFewOperators(operatorCount, params.minOperators);
        if (totalStake < params.minTotalStake) revert InsufficientTotalStake(totalStake, params.minTotalStake);

        taskId = ++taskCount;
        Task memory task = Task({
            taskId: taskId,
            avsId: avsId,
            referenceBlock: referenceBlock,
            responseDeadline: SafeCast.toUint32(block.number + params.responseWindowBlocks),
            quorumBps: params.quorumBps,
            inputHash: keccak256(input)
        });
        _taskHashes[taskId] = keccak256(abi.encode(task));
        emit TaskCreated(taskId, avsId, task, input);
    }

    /// Accepts the result of `task` signed by every operator of the AVS at the reference block
    /// except `nonSignerKeys` (ascending by operator id = keccak256 of the key's encoding).
    function respondToTask(
        Task calldata task,
        bytes32 resultHash,
        G1Point[] calldata nonSignerKeys,
        G2Point calldata signature
    ) external nonReentrant {
        uint32 taskId = task.taskId;
        _requireTask(task);
        if (_responseHashes[taskId] != bytes32(0)) revert AlreadyResponded(taskId);
        if (block.number > task.responseDeadline) revert ResponseWindowClosed(taskId, task.responseDeadline, block.number);
        _requireFresh(task.referenceBlock);

        (G1Point memory signingKey, uint256 signedStake, uint256 totalStake, bytes32[] memory nonSignerIds) =
            _quorum(task, nonSignerKeys);
        bytes memory digest = abi.encodePacked(responseDigest(taskId, resultHash));
        if (BLS12381.isInfinity(signingKey) || !BLS12381.verify(signingKey, digest, signature)) revert InvalidSignature(taskId);

        TaskResponse memory response = TaskResponse({
            taskId: taskId,
            respondedBlock: uint32(block.number),
            resultHash: resultHash,
            signedStake: uint96(signedStake),
            totalStake: uint96(totalStake),
            nonSignersHash: keccak256(abi.encode(nonSignerIds))
        });
        _responseHashes[taskId] = keccak256(abi.encode(response));
        emit TaskResponded(taskId, response, nonSignerIds);
    }

    /// The signing key and stakes of a response: one G1ADD per non-signer, one lookup of the
    /// AVS's quorum and one batched lookup of the non-signers' stakes.
    function _quorum(Task calldata task, G1Point[] calldata nonSignerKeys)
        private
        view
        returns (G1Point memory signingKey, uint256 signedStake, uint256 totalStake, bytes32[] memory nonSignerIds)
    {
        uint256 count = nonSignerKeys.length;
        nonSignerIds = new bytes32[](count);
        G1Point memory nonSignerSum; // the point at infinity
        for (uint256 i = 0; i < count; ++i) {
            G1Point memory key = nonSignerKeys[i];
            bytes32 id = keccak256(abi.encode(key));
            // Strictly ascending ids: no key can be subtracted twice.
            if (i > 0 && id <= nonSignerIds[i - 1]) revert NonSignersNotSorted(i);
            nonSignerIds[i] = id;
            nonSignerSum = BLS12381.add(nonSignerSum, key);
        }
        G1Point memory apk;
        (apk, totalStake,) = directory.quorumAt(task.avsId, task.referenceBlock);
        // Reverts unless every id was a member at the reference block: a key that is not in
        // the aggregate must not be subtracted from it.
        uint256 nonSignerStake = count == 0 ? 0 : directory.nonSignerStakeAt(task.avsId, nonSignerIds, task.referenceBlock);
        signedStake = totalStake - nonSignerStake;
        if (signedStake == 0 || signedStake * 10_000 < totalStake * task.quorumBps) {
            revert QuorumNotReached(signedStake, totalStake, task.quorumBps);
        }
        signingKey = BLS12381.add(apk, BLS12381.negate(nonSignerSum));
    }

    // ------------------------------------------------------------------ challenges

    /// Challenges a response within the AVS's challenge window, with exactly its bond.
    function challenge(Task calldata task, TaskResponse calldata response) external payable nonReentrant {
        uint32 taskId = task.taskId;
        _requireTask(task);
        if (response.taskId != taskId || !isResponse(response)) revert UnknownResponse(taskId);
        if (_challenges[taskId].status != ChallengeStatus.None) revert AlreadyChallenged(taskId);
        TaskParams memory params = directory.taskParams(task.avsId);
        uint256 deadline = uint256(response.respondedBlock) + params.challengeWindowBlocks;
        if (block.number > deadline) revert ChallengeWindowClosed(taskId, deadline, block.number);
        if (msg.value != params.challengeBond) revert WrongBond(msg.value, params.challengeBond);
        _challenges[taskId] = Challenge(msg.sender, uint32(block.number), task.avsId, ChallengeStatus.Open, uint96(msg.value));
        emit TaskChallenged(taskId, msg.sender, msg.value);
    }

    /// The AVS's arbiter decides an open challenge within the resolution window. Upheld: the
    /// challenger gets the bond back and the signers become slashable. Rejected: the bond goes
    /// to the AVS owner, for the trouble.
    function resolveChallenge(uint32 taskId, bool upheld) external nonReentrant {
        Challenge storage c = _openChallenge(taskId);
        TaskParams memory params = directory.taskParams(c.avsId);
        if (msg.sender != params.arbiter) revert NotArbiter(c.avsId, msg.sender);
        uint256 deadline = uint256(c.openedBlock) + params.resolutionWindowBlocks;
        if (block.number > deadline) revert ResolutionWindowClosed(taskId, deadline, block.number);
        address recipient = upheld ? c.challenger : directory.ownerOf(c.avsId);
        c.status = upheld ? ChallengeStatus.Upheld : ChallengeStatus.Rejected;
        bondCredits[recipient] += c.bond;
        emit ChallengeResolved(taskId, upheld, recipient, c.bond);
    }

    /// A challenge the arbiter left undecided past its window lapses; the bond is returned.
    function expireChallenge(uint32 taskId) external nonReentrant {
        Challenge storage c = _openChallenge(taskId);
        uint256 deadline = uint256(c.openedBlock) + directory.taskParams(c.avsId).resolutionWindowBlocks;
        if (block.number <= deadline) revert ResolutionWindowOpen(taskId, deadline, block.number);
        c.status = ChallengeStatus.Expired;
        bondCredits[c.challenger] += c.bond;
        emit ChallengeExpired(taskId, c.challenger, c.bond);
    }

    function withdrawBond() external nonReentrant {
        uint256 amount = bondCredits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        bondCredits[msg.sender] = 0;
        emit BondWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EtherTransferFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// What each operator signs for `resultHash` as the result of task `taskId`.
    function responseDigest(uint32 taskId, bytes32 resultHash) public view returns (bytes32) {
        return keccak256(abi.encode(RESPONSE_TYPEHASH, block.chainid, address(this), taskId, resultHash));
    }

    function isTask(Task calldata task) public view returns (bool) {
        bytes32 stored = _taskHashes[task.taskId];
        return stored != bytes32(0) && stored == keccak256(abi.encode(task));
    }

    function isResponse(TaskResponse calldata response) public view returns (bool) {
        bytes32 stored = _responseHashes[response.taskId];
        return stored != bytes32(0) && stored == keccak256(abi.encode(response));
    }

    function challengeStatus(uint32 taskId) external view returns (ChallengeStatus) {
        return _challenges[taskId].status;
    }

    function challengeOf(uint32 taskId) external view returns (Challenge memory) {
        return _challenges[taskId];
    }

    // ------------------------------------------------------------------ internal

    function _requireTask(Task calldata task) private view {
        if (!isTask(task)) revert UnknownTask(task.taskId);
    }

    /// The stake at the reference block is only backed while it cannot have been withdrawn.
    function _requireFresh(uint256 referenceBlock) private view {
        if (referenceBlock + withdrawalDelayBlocks <= block.number) {
            revert StaleStakeSnapshot(referenceBlock, block.number, withdrawalDelayBlocks);
        }
    }

    function _openChallenge(uint32 taskId) private view returns (Challenge storage c) {
        c = _challenges[taskId];
        if (c.status != ChallengeStatus.Open) revert NoOpenChallenge(taskId);
    }
}
