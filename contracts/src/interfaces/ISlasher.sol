// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ChallengeStatus} from "./ITaskManager.sol";

enum Offence {
    /// Two different results signed for one task.
    DoubleSign,
    /// Signed a response whose challenge the arbiter upheld.
    LostChallenge,
    /// Signed a result other than the task's final certified one.
    ContradictedCertificate
}

enum ProposalStatus {
    None,
    Pending,
    Vetoed,
    Executed
}

/// Slashing on provable evidence, after a window in which the AVS's veto committee can stop it.
interface ISlasher {
    event SlashProposed(uint256 indexed proposalId, address indexed operator, uint32 indexed avsId, uint32 taskId, Offence offence, uint256 executableBlock);
    event SlashVetoed(uint256 indexed proposalId, address indexed vetoer, uint256 vetoes, bool cancelled);
    event SlashExecuted(uint256 indexed proposalId, address indexed operator, uint256 stakeSlashed, uint256 collateralSlashed);

    error UnknownTask(uint32 taskId);
    error UnknownResponse(uint32 taskId);
    error UnknownOperator(bytes32 operatorId);
    error NotConflicting(bytes32 resultHash);
    error InvalidEvidenceSignature(bytes32 operatorId, bytes32 resultHash);
    error NotAMember(uint32 avsId, bytes32 operatorId, uint256 referenceBlock);
    error ChallengeNotUpheld(uint32 taskId);
    error NonSignersMismatch(uint32 taskId);
    error OperatorDidNotSign(uint32 taskId, bytes32 operatorId);
    error NotFinal(uint32 taskId, ChallengeStatus status, uint256 challengeDeadline);
    error NotContradicting(uint32 taskId, bytes32 resultHash);
    error AlreadyProposed(uint32 taskId, bytes32 operatorId);
    error UnknownProposal(uint256 proposalId);
    error NotVetoer(uint32 avsId, address caller);
    error AlreadyVetoed(uint256 proposalId, address vetoer);
    error NotPending(uint256 proposalId, ProposalStatus status);
    error VetoWindowClosed(uint256 proposalId, uint256 executableBlock);
    error VetoWindowOpen(uint256 proposalId, uint256 executableBlock);
}
