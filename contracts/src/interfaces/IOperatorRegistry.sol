// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {G1Point, G2Point} from "../bls/BLS12381.sol";

/// Operators: a BLS12-381 key proven by possession, a libp2p peer id, and divETH collateral
/// locked per active key share of a distributed validator.
interface IOperatorRegistry {
    event OperatorRegistered(address indexed operator, bytes32 indexed operatorId, G1Point publicKey, bytes peerId);
    event PeerIdUpdated(address indexed operator, bytes peerId);
    event CollateralDeposited(address indexed operator, uint256 amount, uint256 collateral);
    event CollateralWithdrawn(address indexed operator, uint256 amount, uint256 collateral);
    event SharesLocked(address indexed operator, uint256 activeShares, uint256 lockedCollateral);
    event SharesReleased(address indexed operator, uint256 activeShares, uint256 lockedCollateral);
    event CollateralSlashed(address indexed operator, uint16 bps, uint256 amount, uint256 collateral);

    error OperatorAlreadyRegistered(address operator);
    error OperatorNotRegistered(address operator);
    error PublicKeyAlreadyRegistered(bytes32 operatorId, address owner);
    error InvalidProofOfPossession(address operator);
    error InvalidPeerIdLength(uint256 length, uint256 maxLength);
    error ZeroAmount();
    error CollateralLocked(address operator, uint256 requested, uint256 free);
    error InsufficientCollateral(address operator, uint256 required, uint256 collateral);
    error NoActiveShares(address operator);
    error BpsOutOfRange(uint16 bps);

    function register(G1Point calldata publicKey, G2Point calldata proofOfPossession, bytes calldata peerId) external;
    function lockShares(address[] calldata operators) external;
    function releaseShares(address[] calldata operators) external;
    function slashCollateral(address operator, uint16 bps) external returns (uint256 amount);

    function isRegistered(address operator) external view returns (bool);
    function operatorIdOf(address operator) external view returns (bytes32);
    function operatorOf(bytes32 operatorId) external view returns (address);
    function publicKeyOf(address operator) external view returns (G1Point memory);
}
