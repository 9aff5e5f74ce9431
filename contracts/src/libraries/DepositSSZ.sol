// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title SSZ hash tree roots of the deposit types (consensus specs, phase0)
library DepositSSZ {
    /// DOMAIN_DEPOSIT: deposits are signed over the genesis fork version on every fork.
    bytes4 internal constant DOMAIN_DEPOSIT = 0x03000000;

    /// compute_domain(DOMAIN_DEPOSIT, genesisForkVersion, genesis_validators_root = 0).
    function depositDomain(bytes4 genesisForkVersion) internal pure returns (bytes32) {
        bytes32 forkDataRoot = sha256(abi.encodePacked(bytes32(genesisForkVersion), bytes32(0)));
        return bytes32(abi.encodePacked(DOMAIN_DEPOSIT, bytes28(forkDataRoot)));
    }

    /// hash_tree_root(DepositMessage(pubkey, withdrawal_credentials, amount)).
    function depositMessageRoot(bytes memory pubkey, bytes32 withdrawalCredentials, uint64 amountGwei) internal pure returns (bytes32) {
        return sha256(
            abi.encodePacked(
                sha256(abi.encodePacked(pubkeyRoot(pubkey), withdrawalCredentials)),
                sha256(abi.encodePacked(toLittleEndian64(amountGwei), bytes24(0), bytes32(0)))
            )
        );
    }

    /// compute_signing_root(DepositMessage, domain): what the validator key signs.
    function depositSigningRoot(bytes memory pubkey, bytes32 withdrawalCredentials, uint64 amountGwei, bytes32 domain) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(depositMessageRoot(pubkey, withdrawalCredentials, amountGwei), domain));
    }

    /// hash_tree_root(BLSPubkey): 48 bytes in two chunks.
    function pubkeyRoot(bytes memory pubkey) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(pubkey, bytes16(0)));
    }

    function toLittleEndian64(uint64 value) internal pure returns (bytes8) {
        uint64 v = value;
        v = ((v & 0xFF00FF00FF00FF00) >> 8) | ((v & 0x00FF00FF00FF00FF) << 8);
        v = ((v & 0xFFFF0000FFFF0000) >> 16) | ((v & 0x0000FFFF0000FFFF) << 16);
        v = (v >> 32) | (v << 32);
        return bytes8(v);
    }
}
