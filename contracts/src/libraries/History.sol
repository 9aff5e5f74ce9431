// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Block-numbered history of a uint224 value
/// @notice Like OpenZeppelin's Checkpoints, but the latest checkpoint lives in its own slot:
/// the lookup a signature check makes ("the value at a recent block") costs one SLOAD instead
/// of two (array length, then element), and only lookups older than the last change search the
/// past entries.
library History {
    struct Checkpoint {
        uint32 fromBlock;
        uint224 value;
    }

    struct Trace {
        Checkpoint head;
        Checkpoint[] past; // ascending fromBlock, all below head.fromBlock
    }

    /// Values of the current block are still changing; only past blocks can be looked up.
    error FutureLookup(uint256 blockNumber, uint256 currentBlock);

    /// Records `value` from the current block on (a second update in one block overwrites).
    function push(Trace storage self, uint224 value) internal {
        uint32 blockNumber = SafeCast.toUint32(block.number);
        Checkpoint memory head = self.head;
        if (head.fromBlock == blockNumber) {
            self.head.value = value;
            return;
        }
        if (head.fromBlock != 0) self.past.push(head);
        self.head = Checkpoint(blockNumber, value);
    }

    function latest(Trace storage self) internal view returns (uint224) {
        return self.head.value;
    }

    /// The value as of the end of block `blockNumber` (0 before the first checkpoint).
    function valueAt(Trace storage self, uint256 blockNumber) internal view returns (uint224) {
        if (blockNumber >= block.number) revert FutureLookup(blockNumber, block.number);
        Checkpoint memory head = self.head;
        if (head.fromBlock <= blockNumber) return head.value;
        Checkpoint[] storage past = self.past;
        // The first past entry newer than blockNumber; the answer is the one before it.
        uint256 low = 0;
        uint256 high = past.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (past[mid].fromBlock > blockNumber) high = mid;
            else low = mid + 1;
        }
        return high == 0 ? 0 : past[high - 1].value;
    }
}
