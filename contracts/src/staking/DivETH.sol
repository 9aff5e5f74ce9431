// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IDivETH} from "../interfaces/IDivETH.sol";

/// @title divETH, the staking pool's share token
/// @notice Non-rebasing: a balance stays fixed and the ETH it redeems for grows (see
/// StakingPool.convertToEther). Deployed by the pool, which is its only minter.
contract DivETH is ERC20, IDivETH {
    address public immutable pool;

    error OnlyPool(address caller);

    constructor() ERC20("nektar distributed validator ETH", "divETH") {
        pool = msg.sender;
    }

    /// @inheritdoc IDivETH
    function mint(address to, uint256 amount) external {
        if (msg.sender != pool) revert OnlyPool(msg.sender);
        _mint(to, amount);
    }

    /// @inheritdoc IDivETH
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}
