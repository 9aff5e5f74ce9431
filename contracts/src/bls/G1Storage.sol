// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {G1Point} from "./BLS12381.sol";

/// A G1 point in three storage slots instead of four: the high words of x and y are below
/// 2^125, so they share a slot.
struct StoredG1 {
    uint128 xHi;
    uint128 yHi;
    uint256 xLo;
    uint256 yLo;
}

library G1Storage {
    function store(G1Point memory p) internal pure returns (StoredG1 memory) {
        // Coordinates come from precompile outputs or PoP-checked keys: below p < 2^381.
        return StoredG1(uint128(p.xHi), uint128(p.yHi), p.xLo, p.yLo);
    }

    function load(StoredG1 storage s) internal view returns (G1Point memory) {
        return G1Point(s.xHi, s.xLo, s.yHi, s.yLo);
    }
}
