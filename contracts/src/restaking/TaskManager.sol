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
/// The aggregate key and total stake are copied into the task at creation (the task hash
/// commits to them), and the response slot is written at creation too, so a response - the
/// transaction that must land within a window - pays for no AVS-wide read and no fresh slot.
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

    /// The response slot of a task awaiting its response.
    bytes32 private constant PENDING = bytes32(uint256(1));

    uint32 public taskCount;
    mapping(uint32 taskId => bytes32) private _taskHashes;
    mapping(uint32 taskId => bytes32) private _responseHashes; // PENDING until answered
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
        (G1Point memory apk, uint256 totalStake, uint256 operatorCount) = directory.quorumAt(avsId, referenceBlock);
        if (operatorCount < params.minOperators) revert TooFewOperators(operatorCount, params.minOperators);
        if (totalStake < params.minTotalStake) revert InsufficientTotalStake(totalStake, params.minTotalStake);

        taskId = ++taskCount;
        Task memory task = Task({
            taskId: taskId,
            avsId: avsId,
            referenceBlock: referenceBlock,
            responseDeadline: SafeCast.toUint32(block.number + params.responseWindowBlocks),
            quorumBps: params.quorumBps,
            totalStake: SafeCast.toUint96(totalStake),
            inputHash: keccak256(input),
            apk: apk
        });
        _taskHashes[taskId] = keccak256(abi.encode(task));
        _responseHashes[taskId] = PENDING;
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
        if (_responseHashes[taskId] != PENDING) revert AlreadyResponded(taskId);
        if (block.number > task.responseDeadline) revert ResponseWindowClosed(taskId, task.responseDeadline, block.number);
        (uint256 signedStake, bytes32[] memory nonSignerIds) = _checkSignatures(task, resultHash, nonSignerKeys, signature);

        TaskResponse memory response = TaskResponse({
            taskId: taskId,
            respondedBlock: uint32(block.number),
            signedStake: uint96(signedStake),
            resultHash: resultHash,
            nonSignersHash: keccak256(abi.encode(nonSignerIds))
        });
        _responseHashes[taskId] = keccak256(abi.encode(response));
        emit TaskResponded(taskId, response, nonSignerIds);
    }

    /// The check respondToTask makes, as a view an aggregator can call before sending: reverts
    /// with the reason unless `signature` is a valid quorum signature of `resultHash` for `task`
    /// by every operator at the reference block except `nonSignerKeys`.
    /// @return signedStake stake of the signers at the reference block
    /// @return nonSignerIds the non-signers' operator ids, ascending
    function checkSignatures(
        Task calldata task,
        bytes32 resultHash,
        G1Point[] calldata nonSignerKeys,
        G2Point calldata signature
    ) external view returns (uint256 signedStake, bytes32[] memory nonSignerIds) {
        _requireTask(task);
        return _checkSignatures(task, resultHash, nonSignerKeys, signature);
    }

    function _checkSignatures(
        Task calldata task,
        bytes32 resultHash,
        G1Point[] calldata nonSignerKeys,
        G2Point calldata signature
    ) private view returns (uint256 signedStake, bytes32[] memory nonSignerIds) {
        _requireFresh(task.referenceBlock);
        G1Point memory nonSignerSum;
        (nonSignerSum, nonSignerIds) = _sumNonSigners(nonSignerKeys);
        // Reverts unless every id was a member at the reference block: a key that is not in
        // the aggregate must not be subtracted from it.
        uint256 nonSignerStake =
            nonSignerIds.length == 0 ? 0 : directory.nonSignerStakeAt(task.avsId, nonSignerIds, task.referenceBlock);
        signedStake = task.totalStake - nonSignerStake;
        if (signedStake == 0 || signedStake * 10_000 < uint256(task.totalStake) * task.quorumBps) {
            revert QuorumNotReached(signedStake, task.totalStake, task.quorumBps);
        }
        G1Point memory signingKey = BLS12381.add(task.apk, BLS12381.negate(nonSignerSum));
        bytes memory digest = abi.encodePacked(responseDigest(task.taskId, resultHash));
        if (BLS12381.isInfinity(signingKey) || !BLS12381.verify(signingKey, digest, signature)) {
            revert InvalidSignature(task.taskId);
        }
    }

    /// The sum of the non-signers' keys and their ids, in one pass over calldata: each key is
    /// hashed where it lies and added into one buffer by G1ADD, nothing allocated per key.
    /// Ids must be strictly ascending, so no key is subtracted twice.
    function _sumNonSigners(G1Point[] calldata keys) private view returns (G1Point memory sum, bytes32[] memory ids) {
        uint256 count = keys.length;
        ids = new bytes32[](count);
        uint256 unsortedAt; // index + 1 of the first key out of order
        bool ok = true;
        assembly ("memory-safe") {
            // buffer: [running sum | next key]; G1ADD reads both and overwrites the sum.
            let buffer := mload(0x40)
            mstore(buffer, 0)
            mstore(add(buffer, 0x20), 0)
            mstore(add(buffer, 0x40), 0)
            mstore(add(buffer, 0x60), 0)
            let key := add(buffer, 128)
            let previous := 0
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                calldatacopy(key, add(keys.offset, mul(i, 128)), 128)
                let id := keccak256(key, 128)
                if and(gt(i, 0), iszero(gt(id, previous))) {
                    unsortedAt := add(i, 1)
                    break
                }
                previous := id
                mstore(add(ids, mul(add(i, 1), 0x20)), id)
                ok := and(ok, staticcall(gas(), 0x0b, buffer, 256, buffer, 128))
            }
            mcopy(sum, buffer, 128)
        }
        if (unsortedAt != 0) revert NonSignersNotSorted(unsortedAt - 1);
        if (!ok) revert BLS12381.BLSPrecompileFailed(address(0x0b));
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
        return _responseHashes[response.taskId] == keccak256(abi.encode(response));
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
