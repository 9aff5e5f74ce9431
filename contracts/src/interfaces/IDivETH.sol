// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// divETH: shares of the staking pool. Its value in ETH rises with validator rewards.
interface IDivETH is IERC20 {
    /// Only the pool mints, when ETH is deposited.
    function mint(address to, uint256 amount) external;

    /// Destroys the caller's own tokens: the pool burns finalized withdrawal requests, the
    /// delegation manager and the operator registry burn slashed stake and collateral. Burning
    /// leaves the pool's ETH in place, so every remaining holder's share is worth more.
    function burn(uint256 amount) external;
}
