// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.30;

/// The beacon chain deposit contract's interface, as deployed on mainnet at
/// 0x00000000219ab540356cBB839Cbe05303d7705Fa (names kept as the original, snake case included).
interface IDepositContract {
    /// A processed deposit; every field little-endian SSZ bytes as the beacon chain reads them.
    event DepositEvent(bytes pubkey, bytes withdrawal_credentials, bytes amount, bytes signature, bytes index);

    /// Submits a deposit; `deposit_data_root` must be the SSZ root of the other fields and msg.value.
    function deposit(
        bytes calldata pubkey,
        bytes calldata withdrawal_credentials,
        bytes calldata signature,
        bytes32 deposit_data_root
    ) external payable;

    /// hash_tree_root of the list of all deposits so far.
    function get_deposit_root() external view returns (bytes32);

    /// The number of deposits, as 8 little-endian bytes.
    function get_deposit_count() external view returns (bytes memory);
}
