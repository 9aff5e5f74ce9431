// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {G1Point, G2Point} from "../bls/BLS12381.sol";

/// A task as committed on-chain at creation; later calls pass it back whole and the contract
/// checks it against its stored hash. It carries the quorum it will be judged by, read once at
/// creation: the response then reads no AVS-wide state at all.
struct Task {
    uint32 taskId;
    uint32 avsId;
    /// Stake, keys and membership are taken as of the end of this block.
    uint32 referenceBlock;
    /// Last block in which a response is accepted.
    uint32 responseDeadline;
    uint16 quorumBps;
    /// The AVS's total stake at the reference block.
    uint96 totalStake;
    /// keccak256 of the input bytes (the TaskCreated event carries the input itself).
    bytes32 inputHash;
    /// The aggregate public key of the AVS's operators at the reference block.
    G1Point apk;
}

/// An accepted response, committed by hash; challenges and slashing pass it back whole.
struct TaskResponse {
    uint32 taskId;
    uint32 respondedBlock;
    uint96 signedStake;
    bytes32 resultHash;
    /// keccak256(abi.encode(bytes32[] nonSignerIds)), the ids ascending.
    bytes32 nonSignersHash;
}

enum ChallengeStatus {
    None,
    Open,
    Upheld,
    Rejected,
    Expired
}

/// Tasks for AVSs: created by the AVS, answered by a BLS12-381 aggregate signature of a
/// stake-weighted quorum of its operators, verified on-chain, open to a bonded challenge.
interface ITaskManager {
    event TaskCreated(uint32 indexed taskId, uint32 indexed avsId, Task task, bytes input);
    event TaskResponded(uint32 indexed taskId, TaskResponse response, bytes32[] nonSignerIds);
    event TaskChallenged(uint32 indexed taskId, address indexed challenger, uint256 bond);
    event ChallengeResolved(uint32 indexed taskId, bool upheld, address indexed bondRecipient, uint256 bond);
    event ChallengeExpired(uint32 indexed taskId, address indexed challenger, uint256 bond);
    event BondWithdrawn(address indexed account, uint256 amount);

    error NotTaskCreator(uint32 avsId, address caller);
    error FutureReferenceBlock(uint256 referenceBlock, uint256 currentBlock);
    error TooFewOperators(uint256 operators, uint256 minimum);
    error InsufficientTotalStake(uint256 totalStake, uint256 minimum);
    error UnknownTask(uint32 taskId);
    error AlreadyResponded(uint32 taskId);
    error ResponseWindowClosed(uint32 taskId, uint256 deadline, uint256 currentBlock);
    error StaleStakeSnapshot(uint256 referenceBlock, uint256 currentBlock, uint256 withdrawalDelayBlocks);
    error NonSignersNotSorted(uint256 index);
    error QuorumNotReached(uint256 signedStake, uint256 totalStake, uint16 quorumBps);
    error InvalidSignature(uint32 taskId);
    error UnknownResponse(uint32 taskId);
    error AlreadyChallenged(uint32 taskId);
    error ChallengeWindowClosed(uint32 taskId, uint256 deadline, uint256 currentBlock);
    error WrongBond(uint256 sent, uint256 required);
    error NotArbiter(uint32 avsId, address caller);
    error NoOpenChallenge(uint32 taskId);
    error ResolutionWindowClosed(uint32 taskId, uint256 deadline, uint256 currentBlock);
    error ResolutionWindowOpen(uint32 taskId, uint256 deadline, uint256 currentBlock);
    error NothingToWithdraw(address account);
    error EtherTransferFailed(address to, uint256 amount);

    function checkSignatures(Task calldata task, bytes32 resultHash, G1Point[] calldata nonSignerKeys, G2Point calldata signature)
        external
        view
        returns (uint256 signedStake, bytes32[] memory nonSignerIds);
    function isTask(Task calldata task) external view returns (bool);
    function isResponse(TaskResponse calldata response) external view returns (bool);
    function challengeStatus(uint32 taskId) external view returns (ChallengeStatus);
    function responseDigest(uint32 taskId, bytes32 resultHash) external view returns (bytes32);
}
