// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BLS12381, G1Point, G2Point} from "../bls/BLS12381.sol";

/// @notice TEST ONLY, never deployed by the deployment code: exposes the BLS12381 library's
/// internal functions so tests can compare them with blst and noble.
contract BLS12381Harness {
    function expandMessageXmd(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return BLS12381.expandMessageXmd(message, dst);
    }

    function hashToG2(bytes calldata message, bytes calldata dst) external view returns (G2Point memory) {
        return BLS12381.hashToG2(message, dst);
    }

    function verify(G1Point calldata publicKey, bytes calldata message, G2Point calldata sig) external view returns (bool) {
        return BLS12381.verify(publicKey, message, sig);
    }

    function verifyProofOfPossession(G1Point calldata publicKey, G2Point calldata proof) external view returns (bool) {
        return BLS12381.verifyProofOfPossession(publicKey, proof);
    }

    function add(G1Point calldata a, G1Point calldata b) external view returns (G1Point memory) {
        return BLS12381.add(a, b);
    }

    function negate(G1Point calldata a) external pure returns (G1Point memory) {
        return BLS12381.negate(a);
    }

    function compressG1(G1Point calldata a) external pure returns (bytes memory) {
        return BLS12381.compress(a);
    }

    function compressG2(G2Point calldata a) external pure returns (bytes memory) {
        return BLS12381.compress(a);
    }
}
