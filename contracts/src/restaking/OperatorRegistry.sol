// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {BLS12381, G1Point, G2Point} from "../bls/BLS12381.sol";
import {G1Storage, StoredG1} from "../bls/G1Storage.sol";
import {IDivETH} from "../interfaces/IDivETH.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";

/// @title Operator registry
/// @notice An operator is an address with one BLS12-381 public key, registered with a proof of
/// possession (which also rules out rogue keys built to cancel others in an aggregate), a
/// libp2p peer id, and divETH collateral: 1 divETH is locked per active key share of a
/// distributed validator, and can be slashed.
/// @dev operatorId = keccak256 of the key's 128-byte EIP-2537 encoding, so a signature check
/// can turn a non-signer's key from calldata into its id without reading storage.
contract OperatorRegistry is IOperatorRegistry, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IDivETH;
    using G1Storage for StoredG1;

    bytes32 public constant POOL_ROLE = keccak256("POOL_ROLE");
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    uint256 public constant COLLATERAL_PER_SHARE = 1 ether;
    uint256 public constant MAX_PEER_ID_LENGTH = 128;

    IDivETH public immutable collateralToken;

    struct Operator {
        bytes32 operatorId;
        uint128 collateral;
        uint32 activeShares;
        StoredG1 publicKey;
        bytes peerId;
    }

    mapping(address operator => Operator) private _operators;
    mapping(bytes32 operatorId => address) private _owners;

    constructor(IDivETH collateralToken_, address admin) {
        collateralToken = collateralToken_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// Registers the caller with `publicKey`, proven by `proofOfPossession` (a signature of the
    /// 48-byte compressed key under BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_).
    function register(G1Point calldata publicKey, G2Point calldata proofOfPossession, bytes calldata peerId) external {
        if (_operators[msg.sender].operatorId != bytes32(0)) revert OperatorAlreadyRegistered(msg.sender);
        _checkPeerId(peerId);
        bytes32 operatorId = keccak256(abi.encode(publicKey));
        address owner = _owners[operatorId];
        if (owner != address(0)) revert PublicKeyAlreadyRegistered(operatorId, owner);
        if (!BLS12381.verifyProofOfPossession(publicKey, proofOfPossession)) revert InvalidProofOfPossession(msg.sender);

        Operator storage operator = _operators[msg.sender];
        operator.operatorId = operatorId;
        operator.publicKey = G1Storage.store(publicKey);
        operator.peerId = peerId;
        _owners[operatorId] = msg.sender;
        emit OperatorRegistered(msg.sender, operatorId, publicKey, peerId);
    }

    function setPeerId(bytes calldata peerId) external {
        _requireRegistered(msg.sender);
        _checkPeerId(peerId);
        _operators[msg.sender].peerId = peerId;
        emit PeerIdUpdated(msg.sender, peerId);
    }

    // ------------------------------------------------------------------ collateral

    /// Adds `amount` divETH (approve first) to the caller's collateral.
    function depositCollateral(uint256 amount) external nonReentrant {
        _requireRegistered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        Operator storage operator = _operators[msg.sender];
        operator.collateral += SafeCast.toUint128(amount);
        collateralToken.safeTransferFrom(msg.sender, address(this), amount);
        emit CollateralDeposited(msg.sender, amount, operator.collateral);
    }

    /// Returns `amount` of the caller's collateral that no active share locks.
    function withdrawCollateral(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 free = freeCollateralOf(msg.sender);
        if (amount > free) revert CollateralLocked(msg.sender, amount, free);
        Operator storage operator = _operators[msg.sender];
        operator.collateral -= uint128(amount);
        collateralToken.safeTransfer(msg.sender, amount);
        emit CollateralWithdrawn(msg.sender, amount, operator.collateral);
    }

    /// The pool, when a validator is deposited: one more active share for each operator.
    function lockShares(address[] calldata operators) external onlyRole(POOL_ROLE) {
        for (uint256 i = 0; i < operators.length; ++i) {
            address account = operators[i];
            _requireRegistered(account);
            Operator storage operator = _operators[account];
            uint256 required = (uint256(operator.activeShares) + 1) * COLLATERAL_PER_SHARE;
            if (operator.collateral < required) revert InsufficientCollateral(account, required, operator.collateral);
            operator.activeShares += 1;
            emit SharesLocked(account, operator.activeShares, required);
        }
    }

    /// The pool, when a validator has exited: one share fewer for each operator.
    function releaseShares(address[] calldata operators) external onlyRole(POOL_ROLE) {
        for (uint256 i = 0; i < operators.length; ++i) {
            Operator storage operator = _operators[operators[i]];
            if (operator.activeShares == 0) revert NoActiveShares(operators[i]);
            operator.activeShares -= 1;
            emit SharesReleased(operators[i], operator.activeShares, uint256(operator.activeShares) * COLLATERAL_PER_SHARE);
        }
    }

    /// The slasher: burns `bps` of the operator's collateral. Shares stay active, so an
    /// operator below its lock cannot take new shares or withdraw until it tops up.
    function slashCollateral(address account, uint16 bps) external onlyRole(SLASHER_ROLE) nonReentrant returns (uint256 amount) {
        if (bps > 10_000) revert BpsOutOfRange(bps);
        Operator storage operator = _operators[account];
        amount = uint256(operator.collateral) * bps / 10_000;
        operator.collateral -= uint128(amount);
        if (amount > 0) collateralToken.burn(amount);
        emit CollateralSlashed(account, bps, amount, operator.collateral);
    }

    // ------------------------------------------------------------------ views

    function isRegistered(address operator) public view returns (bool) {
        return _operators[operator].operatorId != bytes32(0);
    }

    function operatorIdOf(address operator) external view returns (bytes32) {
        _requireRegistered(operator);
        return _operators[operator].operatorId;
    }

    /// The operator's address, or zero if no operator has this id.
    function operatorOf(bytes32 operatorId) external view returns (address) {
        return _owners[operatorId];
    }

    function publicKeyOf(address operator) external view returns (G1Point memory) {
        _requireRegistered(operator);
        return _operators[operator].publicKey.load();
    }

    function peerIdOf(address operator) external view returns (bytes memory) {
        return _operators[operator].peerId;
    }

    function collateralOf(address operator) external view returns (uint256 collateral, uint256 activeShares) {
        Operator storage o = _operators[operator];
        return (o.collateral, o.activeShares);
    }

    function freeCollateralOf(address operator) public view returns (uint256) {
        Operator storage o = _operators[operator];
        uint256 locked = uint256(o.activeShares) * COLLATERAL_PER_SHARE;
        return o.collateral > locked ? o.collateral - locked : 0;
    }

    function _requireRegistered(address operator) private view {
        if (!isRegistered(operator)) revert OperatorNotRegistered(operator);
    }

    function _checkPeerId(bytes calldata peerId) private pure {
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_LENGTH) revert InvalidPeerIdLength(peerId.length, MAX_PEER_ID_LENGTH);
    }
}
