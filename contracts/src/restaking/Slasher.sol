// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {BLS12381, G1Point, G2Point} from "../bls/BLS12381.sol";
import {IAVSDirectory, SlashingParams} from "../interfaces/IAVSDirectory.sol";
import {IDelegationManager} from "../interfaces/IDelegationManager.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {ISlasher, Offence, ProposalStatus} from "../interfaces/ISlasher.sol";
import {ChallengeStatus, ITaskManager, Task, TaskResponse} from "../interfaces/ITaskManager.sol";

/// @title Slasher
/// @notice Anyone holding evidence proposes a slash; the evidence is checked on-chain, so no
/// one has to be trusted to propose. Three kinds:
///   - double signing: the operator's own BLS signatures of two different results for one task;
///   - a lost challenge: the operator was a member at the task's reference block, is not among
///     the response's non-signers, and the arbiter upheld the challenge;
///   - a contradicted certificate: the operator's own BLS signature of a result other than the
///     task's certified one, once that certificate is final (its challenge window closed and no
///     challenge upheld or pending). An operator outvoted with a wrong result is slashable for
///     that one signature: it need not have signed twice, nor anyone have challenged.
/// After the AVS's veto window (during which its committee can cancel, e.g. a bug in the AVS's
/// own software), anyone executes: the AVS's share of the operator's delegated stake and of its
/// collateral is burned. One slash per operator and task.
contract Slasher is ISlasher, ReentrancyGuardTransient {
    ITaskManager public immutable taskManager;
    IAVSDirectory public immutable directory;
    IOperatorRegistry public immutable registry;
    IDelegationManager public immutable delegation;

    struct Proposal {
        address operator;
        uint32 avsId;
        uint32 taskId;
        uint32 executableBlock;
        Offence offence;
        ProposalStatus status;
        uint8 vetoes;
    }

    Proposal[] private _proposals;
    mapping(bytes32 taskAndOperator => bool) private _proposed;
    mapping(uint256 proposalId => mapping(address vetoer => bool)) private _vetoed;

    constructor(ITaskManager taskManager_, IAVSDirectory directory_, IOperatorRegistry registry_, IDelegationManager delegation_) {
        taskManager = taskManager_;
        directory = directory_;
        registry = registry_;
        delegation = delegation_;
    }

    /// Evidence: `publicKey` signed both `resultA` and `resultB` as the result of `task`.
    function proposeDoubleSign(
        Task calldata task,
        bytes32 resultA,
        G2Point calldata signatureA,
        bytes32 resultB,
        G2Point calldata signatureB,
        G1Point calldata publicKey
    ) external nonReentrant returns (uint256 proposalId) {
        if (!taskManager.isTask(task)) revert UnknownTask(task.taskId);
        if (resultA == resultB) revert NotConflicting(resultA);
        bytes32 operatorId = keccak256(abi.encode(publicKey));
        address operator = registry.operatorOf(operatorId);
        if (operator == address(0)) revert UnknownOperator(operatorId);
        _requireMember(task, operatorId);
        _requireSigned(task.taskId, operatorId, publicKey, resultA, signatureA);
        _requireSigned(task.taskId, operatorId, publicKey, resultB, signatureB);
        return _propose(operator, operatorId, task, Offence.DoubleSign);
    }

    /// Evidence: `publicKey` signed `resultHash` as the result of `task`, whose final certified
    /// `response` holds another result.
    function proposeContradiction(
        Task calldata task,
        TaskResponse calldata response,
        bytes32 resultHash,
        G2Point calldata signature,
        G1Point calldata publicKey
    ) external nonReentrant returns (uint256 proposalId) {
        uint32 taskId = task.taskId;
        if (!taskManager.isTask(task)) revert UnknownTask(taskId);
        if (response.taskId != taskId || !taskManager.isResponse(response)) revert UnknownResponse(taskId);
        if (resultHash == response.resultHash) revert NotContradicting(taskId, resultHash);
        _requireFinal(task, response);
        bytes32 operatorId = keccak256(abi.encode(publicKey));
        address operator = registry.operatorOf(operatorId);
        if (operator == address(0)) revert UnknownOperator(operatorId);
        _requireMember(task, operatorId);
        _requireSigned(taskId, operatorId, publicKey, resultHash, signature);
        return _propose(operator, operatorId, task, Offence.ContradictedCertificate);
    }

    /// Evidence: `operator` signed `response`, whose challenge was upheld. `nonSignerIds` are
    /// the ids of the TaskResponded event, checked against the response's hash.
    function proposeLostChallenge(
        Task calldata task,
        TaskResponse calldata response,
        bytes32[] calldata nonSignerIds,
        address operator
    ) external nonReentrant returns (uint256 proposalId) {
        uint32 taskId = task.taskId;
        if (!taskManager.isTask(task)) revert UnknownTask(taskId);
        if (response.taskId != taskId || !taskManager.isResponse(response)) revert UnknownResponse(taskId);
        if (taskManager.challengeStatus(taskId) != ChallengeStatus.Upheld) revert ChallengeNotUpheld(taskId);
        if (keccak256(abi.encode(nonSignerIds)) != response.nonSignersHash) revert NonSignersMismatch(taskId);
        bytes32 operatorId = registry.operatorIdOf(operator);
        for (uint256 i = 0; i < nonSignerIds.length; ++i) {
            if (nonSignerIds[i] == operatorId) revert OperatorDidNotSign(taskId, operatorId);
        }
        _requireMember(task, operatorId);
        return _propose(operator, operatorId, task, Offence.LostChallenge);
    }

    /// A member of the AVS's veto committee votes to cancel a pending slash; the threshold cancels it.
    function veto(uint256 proposalId) external {
        Proposal storage p = _pending(proposalId);
        if (!directory.isVetoer(p.avsId, msg.sender)) revert NotVetoer(p.avsId, msg.sender);
        if (block.number >= p.executableBlock) revert VetoWindowClosed(proposalId, p.executableBlock);
        if (_vetoed[proposalId][msg.sender]) revert AlreadyVetoed(proposalId, msg.sender);
        _vetoed[proposalId][msg.sender] = true;
        p.vetoes += 1;
        bool cancelled = p.vetoes >= directory.slashingParams(p.avsId).vetoThreshold;
        if (cancelled) p.status = ProposalStatus.Vetoed;
        emit SlashVetoed(proposalId, msg.sender, p.vetoes, cancelled);
    }

    /// Executes a pending slash once its veto window has passed.
    function executeSlash(uint256 proposalId) external nonReentrant {
        Proposal storage p = _pending(proposalId);
        if (block.number < p.executableBlock) revert VetoWindowOpen(proposalId, p.executableBlock);
        p.status = ProposalStatus.Executed;
        SlashingParams memory params = directory.slashingParams(p.avsId);
        uint256 stakeSlashed = delegation.slash(p.operator, params.stakeBps);
        uint256 collateralSlashed = registry.slashCollateral(p.operator, params.collateralBps);
        emit SlashExecuted(proposalId, p.operator, stakeSlashed, collateralSlashed);
    }

    function proposal(uint256 proposalId) external view returns (Proposal memory) {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        return _proposals[proposalId];
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    // ------------------------------------------------------------------ internal

    function _propose(address operator, bytes32 operatorId, Task calldata task, Offence offence) private returns (uint256 proposalId) {
        bytes32 key = keccak256(abi.encode(task.taskId, operatorId));
        if (_proposed[key]) revert AlreadyProposed(task.taskId, operatorId);
        _proposed[key] = true;
        uint256 executableBlock = block.number + directory.slashingParams(task.avsId).vetoWindowBlocks;
        proposalId = _proposals.length;
        _proposals.push(Proposal(operator, task.avsId, task.taskId, uint32(executableBlock), offence, ProposalStatus.Pending, 0));
        emit SlashProposed(proposalId, operator, task.avsId, task.taskId, offence, executableBlock);
    }

    function _requireMember(Task calldata task, bytes32 operatorId) private view {
        (bool member,) = directory.memberAt(task.avsId, operatorId, task.referenceBlock);
        if (!member) revert NotAMember(task.avsId, operatorId, task.referenceBlock);
    }

    /// A certificate is final once no challenge can still overturn it: the window has closed,
    /// and a challenge, if any, was rejected or lapsed. An upheld one makes the certified result
    /// the wrong one, and an open one may yet.
    function _requireFinal(Task calldata task, TaskResponse calldata response) private view {
        ChallengeStatus status = taskManager.challengeStatus(task.taskId);
        uint256 deadline = uint256(response.respondedBlock) + directory.taskParams(task.avsId).challengeWindowBlocks;
        bool decided = status == ChallengeStatus.Rejected || status == ChallengeStatus.Expired;
        if (!decided && (status != ChallengeStatus.None || block.number <= deadline)) revert NotFinal(task.taskId, status, deadline);
    }

    function _requireSigned(uint32 taskId, bytes32 operatorId, G1Point calldata publicKey, bytes32 result, G2Point calldata sig) private view {
        bytes memory digest = abi.encodePacked(taskManager.responseDigest(taskId, result));
        if (!BLS12381.verify(publicKey, digest, sig)) revert InvalidEvidenceSignature(operatorId, result);
    }

    function _pending(uint256 proposalId) private view returns (Proposal storage p) {
        if (proposalId >= _proposals.length) revert UnknownProposal(proposalId);
        p = _proposals[proposalId];
        if (p.status != ProposalStatus.Pending) revert NotPending(proposalId, p.status);
    }
}
