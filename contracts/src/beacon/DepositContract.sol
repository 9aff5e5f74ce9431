// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IDepositContract} from "../interfaces/IDepositContract.sol";
import {DepositSSZ} from "../libraries/DepositSSZ.sol";

/// @title Beacon deposit contract for local networks and tests
/// @notice The mainnet contract's interface and checks (lengths, amount, deposit data root) and
/// its incremental Merkle tree, so `get_deposit_root` is the SSZ root a beacon node computes.
/// Written for nektar's devnets and tests; on a public network the pool is given the canonical
/// deployment's address instead.
contract DepositContract is IDepositContract {
    uint256 private constant TREE_DEPTH = 32;
    uint256 private constant MAX_DEPOSIT_COUNT = 2 ** TREE_DEPTH - 1;

    bytes32[TREE_DEPTH] private _branch;
    bytes32[TREE_DEPTH] private _zeroHashes;
    uint256 private _depositCount;

    error InvalidLength(string field, uint256 length, uint256 expected);
    error DepositTooSmall(uint256 value);
    error DepositNotGweiMultiple(uint256 value);
    error DepositTooLarge(uint256 value);
    error DepositDataRootMismatch(bytes32 given, bytes32 computed);
    error DepositTreeFull();

    constructor() {
        for (uint256 height = 0; height < TREE_DEPTH - 1; ++height) {
            _zeroHashes[height + 1] = sha256(abi.encodePacked(_zeroHashes[height], _zeroHashes[height]));
        }
    }

    /// @inheritdoc IDepositContract
    function get_deposit_root() external view returns (bytes32) {
        bytes32 node;
        uint256 size = _depositCount;
        for (uint256 height = 0; height < TREE_DEPTH; ++height) {
            if ((size & 1) == 1) node = sha256(abi.encodePacked(_branch[height], node));
            else node = sha256(abi.encodePacked(node, _zeroHashes[height]));
            size /= 2;
        }
        return sha256(abi.encodePacked(node, DepositSSZ.toLittleEndian64(uint64(_depositCount)), bytes24(0)));
    }

    /// @inheritdoc IDepositContract
    function get_deposit_count() external view returns (bytes memory) {
        return abi.encodePacked(DepositSSZ.toLittleEndian64(uint64(_depositCount)));
    }

    /// @inheritdoc IDepositContract
    function deposit(
        bytes calldata pubkey,
        bytes calldata withdrawal_credentials,
        bytes calldata signature,
        bytes32 deposit_data_root
    ) external payable {
        if (pubkey.length != 48) revert InvalidLength("pubkey", pubkey.length, 48);
        if (withdrawal_credentials.length != 32) revert InvalidLength("withdrawal_credentials", withdrawal_credentials.length, 32);
        if (signature.length != 96) revert InvalidLength("signature", signature.length, 96);
        if (msg.value < 1 ether) revert DepositTooSmall(msg.value);
        if (msg.value % 1 gwei != 0) revert DepositNotGweiMultiple(msg.value);
        uint256 amountGwei = msg.value / 1 gwei;
        if (amountGwei > type(uint64).max) revert DepositTooLarge(msg.value);

        bytes8 amount = DepositSSZ.toLittleEndian64(uint64(amountGwei));
        emit DepositEvent(
            pubkey, withdrawal_credentials, abi.encodePacked(amount), signature,
            abi.encodePacked(DepositSSZ.toLittleEndian64(uint64(_depositCount)))
        );

        bytes32 signatureRoot = sha256(
            abi.encodePacked(sha256(signature[:64]), sha256(abi.encodePacked(signature[64:], bytes32(0))))
        );
        bytes32 node = sha256(
            abi.encodePacked(
                sha256(abi.encodePacked(DepositSSZ.pubkeyRoot(pubkey), withdrawal_credentials)),
                sha256(abi.encodePacked(amount, bytes24(0), signatureRoot))
            )
        );
        if (node != deposit_data_root) revert DepositDataRootMismatch(deposit_data_root, node);

        if (_depositCount >= MAX_DEPOSIT_COUNT) revert DepositTreeFull();
        _depositCount += 1;
        uint256 size = _depositCount;
        for (uint256 height = 0; height < TREE_DEPTH; ++height) {
            if ((size & 1) == 1) {
                _branch[height] = node;
                return;
            }
            node = sha256(abi.encodePacked(_branch[height], node));
            size /= 2;
        }
        // Unreachable: the tree is not full, so some height has an odd size.
        assert(false);
    }
}
