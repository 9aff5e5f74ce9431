// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {BLS12381, G1Point, G2Point} from "../bls/BLS12381.sol";
import {IDepositContract} from "../interfaces/IDepositContract.sol";
import {IDivETH} from "../interfaces/IDivETH.sol";
import {IOperatorRegistry} from "../interfaces/IOperatorRegistry.sol";
import {IStakingPool} from "../interfaces/IStakingPool.sol";
import {DepositSSZ} from "../libraries/DepositSSZ.sol";
import {DivETH} from "./DivETH.sol";

/// @title Liquid staking pool
/// @notice Stakers deposit ETH and receive divETH at the current rate. Every 32 ETH funds a
/// distributed validator: its key was made by DKG among the operators named with it, its
/// withdrawal credentials point here (0x01 type), and its deposit signature, made threshold-wise,
/// is verified on-chain before 32 ETH leave, so a bad signature cannot burn a deposit. An oracle
/// reports the validators' beacon chain balance, which moves the rate; withdrawals are queued
/// and finalized against ETH the pool holds.
///
/// Accounting (Lido's, simplified): totalPooledEther = bufferedEther + clBalance +
/// 32 ETH * (depositedValidators - clValidators). ETH that arrives without a call (beacon
/// withdrawals) is swept into the buffer by the next report, never counted twice.
contract StakingPool is IStakingPool, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IDivETH;

    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    bytes32 public constant DEPOSITOR_ROLE = keccak256("DEPOSITOR_ROLE");
    uint256 public constant DEPOSIT_SIZE = 32 ether;
    uint64 private constant DEPOSIT_SIZE_GWEI = 32e9;

    IDivETH public immutable divETH;
    IDepositContract public immutable depositContract;
    /// 0x01 ++ 11 zero bytes ++ this contract: validators withdraw to the pool.
    bytes32 public immutable withdrawalCredentials;
    /// The deposit signing domain of the network (from its genesis fork version).
    bytes32 public immutable depositDomain;
    IOperatorRegistry public operatorRegistry;

    uint256 public bufferedEther;
    uint256 public reservedEther;
    uint256 public clBalance;
    uint64 public clValidators;
    uint64 public depositedValidators;

    struct Validator {
        bytes32 operatorsHash;
        bool exited;
    }

    struct WithdrawalRequest {
        address owner;
        bool claimed;
        uint128 shares;
        uint128 etherAtRequest;
        uint128 etherFinalized;
    }

    mapping(uint256 index => Validator) private _validators;
    mapping(bytes32 pubkeyHash => bool) private _depositedKeys;
    WithdrawalRequest[] private _requests;
    uint256 public finalizedRequests;

    constructor(IDepositContract depositContract_, bytes4 genesisForkVersion, address admin) {
        divETH = new DivETH();
        depositContract = depositContract_;
        withdrawalCredentials = bytes32(abi.encodePacked(bytes1(0x01), bytes11(0), address(this)));
        depositDomain = DepositSSZ.depositDomain(genesisForkVersion);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// Wiring, once: the registry is deployed after the pool because it holds divETH collateral.
    function setOperatorRegistry(IOperatorRegistry registry) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(operatorRegistry) != address(0)) revert OperatorRegistryAlreadySet();
        operatorRegistry = registry;
        emit OperatorRegistrySet(address(registry));
    }

    // ------------------------------------------------------------------ staking

    /// Deposits msg.value and mints divETH to `receiver` at the current rate.
    function deposit(address receiver) external payable nonReentrant returns (uint256 shares) {
        if (msg.value == 0) revert ZeroAmount();
        shares = _toShares(msg.value, totalPooledEther());
        if (shares == 0) revert ZeroAmount();
        bufferedEther += msg.value;
        divETH.mint(receiver, shares);
        emit Deposited(msg.sender, receiver, msg.value, shares);
    }

    function totalPooledEther() public view returns (uint256) {
        return bufferedEther + clBalance + uint256(depositedValidators - clValidators) * DEPOSIT_SIZE;
    }

    /// Shares for `etherAmount` at the current rate (rounded down).
    function convertToShares(uint256 etherAmount) external view returns (uint256) {
        return _toShares(etherAmount, totalPooledEther());
    }

    /// ETH for `shares` at the current rate (rounded down).
    function convertToEther(uint256 shares) public view returns (uint256) {
        return Math.mulDiv(shares, totalPooledEther() + 1, divETH.totalSupply() + 1);
    }

    // The +1s are a virtual share and wei: the first deposit cannot be front-run into a rate
    // that rounds later deposits to nothing (the ERC-4626 inflation attack).
    function _toShares(uint256 etherAmount, uint256 pooledBefore) private view returns (uint256) {
        return Math.mulDiv(etherAmount, divETH.totalSupply() + 1, pooledBefore + 1);
    }

    // ------------------------------------------------------------------ withdrawals

    /// Locks `shares` divETH (approve first) in a FIFO queue; the ETH is fixed at finalization,
    /// at most what the shares were worth now (losses while queued are shared, rewards are not).
    function requestWithdrawal(uint256 shares) external nonReentrant returns (uint256 requestId) {
        if (shares == 0) revert ZeroAmount();
        uint256 etherAtRequest = convertToEther(shares);
        divETH.safeTransferFrom(msg.sender, address(this), shares);
        requestId = _requests.length;
        _requests.push(WithdrawalRequest(msg.sender, false, SafeCast.toUint128(shares), SafeCast.toUint128(etherAtRequest), 0));
        emit WithdrawalRequested(requestId, msg.sender, shares, etherAtRequest);
    }

    /// Finalizes requests [finalizedRequests, upTo): reserves their ETH from the buffer and
    /// burns their shares. The rate is taken once, before any burn.
    function finalizeWithdrawals(uint256 upTo) external onlyRole(ORACLE_ROLE) nonReentrant {
        uint256 first = finalizedRequests;
        if (upTo <= first || upTo > _requests.length) revert NothingToFinalize(upTo, first);
        uint256 pooled = totalPooledEther();
        uint256 supply = divETH.totalSupply();
        uint256 etherTotal;
        uint256 sharesTotal;
        for (uint256 id = first; id < upTo; ++id) {
            WithdrawalRequest storage request = _requests[id];
            uint256 atRate = Math.mulDiv(request.shares, pooled + 1, supply + 1);
            uint256 amount = Math.min(atRate, request.etherAtRequest);
            request.etherFinalized = uint128(amount);
            etherTotal += amount;
            sharesTotal += request.shares;
        }
        if (etherTotal > bufferedEther) revert InsufficientBuffer(etherTotal, bufferedEther);
        finalizedRequests = upTo;
        bufferedEther -= etherTotal;
        reservedEther += etherTotal;
        divETH.burn(sharesTotal);
        emit WithdrawalsFinalized(first, upTo - 1, etherTotal, sharesTotal);
    }

    /// Pays a finalized request's ETH to its owner.
    function claimWithdrawal(uint256 requestId) external nonReentrant {
        if (requestId >= _requests.length) revert UnknownRequest(requestId);
        WithdrawalRequest storage request = _requests[requestId];
        if (request.owner != msg.sender) revert NotRequestOwner(requestId, msg.sender);
        if (requestId >= finalizedRequests) revert RequestNotFinalized(requestId);
        if (request.claimed) revert RequestAlreadyClaimed(requestId);
        request.claimed = true;
        uint256 amount = request.etherFinalized;
        reservedEther -= amount;
        emit WithdrawalClaimed(requestId, msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EtherTransferFailed(msg.sender, amount);
    }

    function withdrawalRequest(uint256 requestId) external view returns (WithdrawalRequest memory) {
        if (requestId >= _requests.length) revert UnknownRequest(requestId);
        return _requests[requestId];
    }

    // ------------------------------------------------------------------ validators

    /// Sends 32 ETH to the deposit contract for a DKG'd validator.
    /// @param publicKey the validator's public key (the group key of the DKG)
    /// @param signature the threshold signature of the DepositMessage (pubkey, this pool's
    ///        credentials, 32 ETH) over the network's deposit domain; checked here
    /// @param depositDataRoot the deposit data root from deposit_data.json; the deposit contract
    ///        checks it against the other fields
    /// @param operators the cluster holding the key shares, ascending; each locks 1 divETH
    /// @param expectedDepositRoot the deposit contract's root the depositor saw: if another
    ///        deposit landed first (e.g. one front-running this key with other credentials),
    ///        nothing is sent
    function depositValidator(
        G1Point calldata publicKey,
        G2Point calldata signature,
        bytes32 depositDataRoot,
        address[] calldata operators,
        bytes32 expectedDepositRoot
    ) external onlyRole(DEPOSITOR_ROLE) nonReentrant {
        bytes32 depositRoot = depositContract.get_deposit_root();
        if (depositRoot != expectedDepositRoot) revert DepositRootChanged(expectedDepositRoot, depositRoot);
        if (bufferedEther < DEPOSIT_SIZE) revert InsufficientBuffer(DEPOSIT_SIZE, bufferedEther);
        _checkSorted(operators);

        bytes memory pubkey = BLS12381.compress(publicKey);
        bytes32 pubkeyHash = keccak256(pubkey);
        if (_depositedKeys[pubkeyHash]) revert PublicKeyAlreadyDeposited(pubkey);
        bytes32 signingRoot = DepositSSZ.depositSigningRoot(pubkey, withdrawalCredentials, DEPOSIT_SIZE_GWEI, depositDomain);
        if (BLS12381.isInfinity(publicKey) || !BLS12381.verify(publicKey, abi.encodePacked(signingRoot), signature)) {
            revert InvalidDepositSignature(pubkey);
        }

        _depositedKeys[pubkeyHash] = true;
        uint256 index = depositedValidators;
        _validators[index] = Validator(keccak256(abi.encode(operators)), false);
        depositedValidators += 1;
        bufferedEther -= DEPOSIT_SIZE;
        operatorRegistry.lockShares(operators);
        emit ValidatorDeposited(index, pubkey, operators);
        depositContract.deposit{value: DEPOSIT_SIZE}(
            pubkey, abi.encodePacked(withdrawalCredentials), BLS12381.compress(signature), depositDataRoot
        );
    }

    /// The oracle's view of the pool's validators on the beacon chain: how many have appeared
    /// (never decreases) and their total balance. Sweeps ETH that arrived since the last report.
    function reportBeaconState(uint64 clValidators_, uint256 clBalance_) external onlyRole(ORACLE_ROLE) nonReentrant {
        if (clValidators_ < clValidators || clValidators_ > depositedValidators) {
            revert InvalidBeaconReport(clValidators_, clValidators, depositedValidators);
        }
        uint256 swept = address(this).balance - bufferedEther - reservedEther;
        bufferedEther += swept;
        clValidators = clValidators_;
        clBalance = clBalance_;
        emit BeaconStateReported(clValidators_, clBalance_, swept, totalPooledEther(), divETH.totalSupply());
    }

    /// A validator has fully exited: its operators' collateral is released.
    function markValidatorExited(uint256 index, address[] calldata operators) external onlyRole(ORACLE_ROLE) nonReentrant {
        if (index >= depositedValidators) revert UnknownValidator(index);
        Validator storage validator = _validators[index];
        if (validator.exited) revert ValidatorAlreadyExited(index);
        if (validator.operatorsHash != keccak256(abi.encode(operators))) revert OperatorsMismatch(index);
        validator.exited = true;
        operatorRegistry.releaseShares(operators);
        emit ValidatorExited(index, operators);
    }

    function _checkSorted(address[] calldata operators) private pure {
        if (operators.length == 0) revert NoOperators();
        for (uint256 i = 1; i < operators.length; ++i) {
            if (operators[i] <= operators[i - 1]) revert OperatorsNotSorted(i);
        }
    }
}
