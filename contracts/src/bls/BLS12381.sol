// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// A G1 point in the EIP-2537 encoding: each coordinate is a 64-byte big-endian field element,
/// split into a high word (top 16 bytes always zero) and a low word. The ABI encoding of this
/// struct is byte for byte the precompile encoding, and so is its memory layout.
struct G1Point {
    uint256 xHi;
    uint256 xLo;
    uint256 yHi;
    uint256 yLo;
}

/// A G2 point in the EIP-2537 encoding: x = x0 + x1*u, y = y0 + y1*u, c0 before c1
/// (the reverse of the zcash serialization blst uses for compressed points).
struct G2Point {
    uint256 x0Hi;
    uint256 x0Lo;
    uint256 x1Hi;
    uint256 x1Lo;
    uint256 y0Hi;
    uint256 y0Lo;
    uint256 y1Hi;
    uint256 y1Lo;
}

/// @title BLS12-381 through the EIP-2537 precompiles (Prague)
/// @notice The Ethereum ciphersuite (min_pk): public keys in G1, signatures in G2, messages hashed
/// with hash_to_curve BLS12381G2_XMD:SHA-256_SSWU_RO_ (RFC 9380). Signatures made by blst,
/// Lodestar or any consensus client verify here unchanged.
library BLS12381 {
    /// Domain separation tag of Ethereum signatures (the proof-of-possession scheme).
    bytes internal constant SIGNATURE_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// Domain separation tag of proofs of possession (IETF BLS draft, PopProve).
    bytes internal constant POP_DST = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

    // Precompile addresses: EIP-2537 as activated in Prague, and MODEXP (EIP-198).
    uint256 private constant G1_ADD = 0x0b;
    uint256 private constant G2_ADD = 0x0d;
    uint256 private constant PAIRING_CHECK = 0x0f;
    uint256 private constant MAP_FP2_TO_G2 = 0x11;
    uint256 private constant MOD_EXP = 0x05;

    // The base field modulus p, as the two words of its 64-byte encoding.
    uint256 private constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 private constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;
    // (p - 1) / 2: y is the "larger" root (zcash sign flag) when y > (p - 1) / 2.
    uint256 private constant HALF_P_HI = 0xd0088f51cbff34d258dd3db21a5d66b;
    uint256 private constant HALF_P_LO = 0xb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555;
    // The G1 generator, negated (y = p - y): the pairing check needs -G1 on the signature side.
    uint256 private constant NEG_G1_X_HI = 0x17f1d3a73197d7942695638c4fa9ac0f;
    uint256 private constant NEG_G1_X_LO = 0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb;
    uint256 private constant NEG_G1_Y_HI = 0x114d1d6855d545a8aa7d76c8cf2e21f2;
    uint256 private constant NEG_G1_Y_LO = 0x67816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca;

    /// A precompile rejected its input (a coordinate not below p, a point off the curve or,
    /// for the pairing, outside the prime-order subgroup).
    error BLSPrecompileFailed(address precompile);

    /// Whether `sig` is a valid signature of `message` by `publicKey`, with Ethereum's DST.
    function verify(G1Point memory publicKey, bytes memory message, G2Point memory sig) internal view returns (bool) {
        return verifyHashed(publicKey, hashToG2(message, SIGNATURE_DST), sig);
    }

    /// Whether `proof` proves possession of the secret key of `publicKey`: a signature, under
    /// the POP tag, of the 48-byte compressed public key. Rejects the point at infinity, whose
    /// "proof" would pass the pairing check trivially.
    function verifyProofOfPossession(G1Point memory publicKey, G2Point memory proof) internal view returns (bool) {
        if (isInfinity(publicKey)) return false;
        return verifyHashed(publicKey, hashToG2(compress(publicKey), POP_DST), proof);
    }

    /// e(publicKey, hashed) == e(G1, sig), checked as e(publicKey, hashed) * e(-G1, sig) == 1.
    /// The precompile checks both points are in their prime-order subgroups.
    function verifyHashed(G1Point memory publicKey, G2Point memory hashed, G2Point memory sig) internal view returns (bool) {
        G1Point memory negG1 = G1Point(NEG_G1_X_HI, NEG_G1_X_LO, NEG_G1_Y_HI, NEG_G1_Y_LO);
        bool ok;
        bool valid;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mcopy(input, publicKey, 128)
            mcopy(add(input, 128), hashed, 256)
            mcopy(add(input, 384), negG1, 128)
            mcopy(add(input, 512), sig, 256)
            ok := staticcall(gas(), PAIRING_CHECK, input, 768, 0x00, 0x20)
            valid := mload(0x00)
        }
        if (!ok) revert BLSPrecompileFailed(address(uint160(PAIRING_CHECK)));
        return valid;
    }

    /// a + b in G1. No subgroup check (EIP-2537 G1ADD only checks the curve equation).
    function add(G1Point memory a, G1Point memory b) internal view returns (G1Point memory sum) {
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mcopy(input, a, 128)
            mcopy(add(input, 128), b, 128)
            ok := staticcall(gas(), G1_ADD, input, 256, sum, 128)
        }
        if (!ok) revert BLSPrecompileFailed(address(uint160(G1_ADD)));
    }

    /// -a in G1: (x, p - y); the point at infinity is its own negation.
    function negate(G1Point memory a) internal pure returns (G1Point memory) {
        if (isInfinity(a)) return a;
        unchecked {
            // y < p, so the two-word subtraction cannot underflow overall.
            uint256 borrow = a.yLo > P_LO ? 1 : 0;
            return G1Point(a.xHi, a.xLo, P_HI - a.yHi - borrow, P_LO - a.yLo);
        }
    }

    function isInfinity(G1Point memory a) internal pure returns (bool) {
        return (a.xHi | a.xLo | a.yHi | a.yLo) == 0;
    }

    /// The 48-byte zcash compressed encoding (the form blst and deposit data use): x with the
    /// compression flag (0x80), the infinity flag (0x40) and the sign of y (0x20) on top.
    function compress(G1Point memory a) internal pure returns (bytes memory) {
        if (isInfinity(a)) return abi.encodePacked(bytes16(uint128(0xc0) << 120), bytes32(0));
        uint256 flags = 0x80 | (_greaterThanHalf(a.yHi, a.yLo) ? 0x20 : 0);
        return abi.encodePacked(bytes16(uint128(a.xHi | (flags << 120))), bytes32(a.xLo));
    }

    /// The 96-byte zcash compressed encoding of a G2 point: x1 then x0, flags on the first byte.
    /// y's sign compares y1 first, and y0 only when y1 is zero.
    function compress(G2Point memory a) internal pure returns (bytes memory) {
        if ((a.x0Hi | a.x0Lo | a.x1Hi | a.x1Lo | a.y0Hi | a.y0Lo | a.y1Hi | a.y1Lo) == 0) {
            return abi.encodePacked(bytes16(uint128(0xc0) << 120), bytes32(0), bytes16(0), bytes32(0));
        }
        bool larger = (a.y1Hi | a.y1Lo) != 0 ? _greaterThanHalf(a.y1Hi, a.y1Lo) : _greaterThanHalf(a.y0Hi, a.y0Lo);
        uint256 flags = 0x80 | (larger ? 0x20 : 0);
        return abi.encodePacked(bytes16(uint128(a.x1Hi | (flags << 120))), bytes32(a.x1Lo), bytes16(uint128(a.x0Hi)), bytes32(a.x0Lo));
    }

    /// hash_to_curve for G2 (RFC 9380, BLS12381G2_XMD:SHA-256_SSWU_RO_): two field elements of
    /// Fp2 from expand_message_xmd, each mapped by MAP_FP2_TO_G2 (simplified SWU, isogeny and
    /// cofactor clearing), then added.
    function hashToG2(bytes memory message, bytes memory dst) internal view returns (G2Point memory h) {
        bytes memory uniform = expandMessageXmd(message, dst);
        bool ok = true;
        assembly ("memory-safe") {
            // Scratch: [0, 256) two mapped points, [256, 512) the two Fp2 inputs,
            // [512, 688) the MODEXP input (lengths, 64-byte base, exponent 1, 48-byte modulus).
            let scratch := mload(0x40)
            let fields := add(scratch, 256)
            let modexp := add(scratch, 512)
            mstore(modexp, 64)
            mstore(add(modexp, 0x20), 1)
            mstore(add(modexp, 0x40), 48)
            mstore8(add(modexp, 160), 1)
            mstore(add(modexp, 161), shl(128, P_HI))
            mstore(add(modexp, 177), P_LO)
            // hash_to_field: four 64-byte chunks, each reduced mod p into a 64-byte Fp slot.
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                mcopy(add(modexp, 0x60), add(add(uniform, 0x20), mul(i, 64)), 64)
                let slot := add(fields, mul(i, 64))
                mstore(slot, 0)
                ok := and(ok, staticcall(gas(), MOD_EXP, modexp, 209, add(slot, 16), 48))
            }
            if ok {
                ok := staticcall(gas(), MAP_FP2_TO_G2, fields, 128, scratch, 256)
            }
            if ok {
                ok := staticcall(gas(), MAP_FP2_TO_G2, add(fields, 128), 128, add(scratch, 256), 256)
            }
            if ok {
                ok := staticcall(gas(), G2_ADD, scratch, 512, h, 256)
            }
        }
        if (!ok) revert BLSPrecompileFailed(address(uint160(MAP_FP2_TO_G2)));
    }

    /// expand_message_xmd with SHA-256 (RFC 9380 section 5.3.1), fixed at the 256 bytes that
    /// hash_to_field needs for two Fp2 elements (ell = 8 blocks). `dst` is at most 255 bytes.
    /// One scratch buffer serves all nine SHA-256 calls.
    function expandMessageXmd(bytes memory message, bytes memory dst) internal view returns (bytes memory uniform) {
        uniform = new bytes(256);
        bool ok;
        assembly ("memory-safe") {
            let dstLength := mload(dst)
            let messageLength := mload(message)
            let buffer := mload(0x40)
            // b_0 = H(Z_pad(64 zero bytes) || msg || I2OSP(256, 2) || I2OSP(0, 1) || DST || I2OSP(len(DST), 1))
            mstore(buffer, 0)
            mstore(add(buffer, 0x20), 0)
            mcopy(add(buffer, 64), add(message, 0x20), messageLength)
            let p := add(add(buffer, 64), messageLength)
            mstore8(p, 1)
            mstore8(add(p, 1), 0)
            mstore8(add(p, 2), 0)
            mcopy(add(p, 3), add(dst, 0x20), dstLength)
            mstore8(add(add(p, 3), dstLength), dstLength)
            ok := staticcall(gas(), 0x02, buffer, add(add(messageLength, 68), dstLength), 0x00, 0x20)
            let b0 := mload(0x00)
            // b_i = H((b_0 xor b_(i-1)) || I2OSP(i, 1) || DST_prime), with b_0 xor 0 for i = 1.
            mcopy(add(buffer, 33), add(dst, 0x20), dstLength)
            mstore8(add(add(buffer, 33), dstLength), dstLength)
            let blockLength := add(34, dstLength)
            let bi := 0
            for { let i := 1 } lt(i, 9) { i := add(i, 1) } {
                mstore(buffer, xor(b0, bi))
                mstore8(add(buffer, 0x20), i)
                ok := and(ok, staticcall(gas(), 0x02, buffer, blockLength, 0x00, 0x20))
                bi := mload(0x00)
                mstore(add(uniform, mul(i, 0x20)), bi)
            }
        }
        if (!ok) revert BLSPrecompileFailed(address(0x02));
    }

    function _greaterThanHalf(uint256 hi, uint256 lo) private pure returns (bool) {
        return hi > HALF_P_HI || (hi == HALF_P_HI && lo > HALF_P_LO);
    }
}
