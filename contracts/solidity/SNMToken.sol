// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title SNM token: the ERC-20 every payment in sosna is made in.
/// @notice The owner (the deployer in dev deployments) can mint; production deployments renounce it.
contract SNMToken is ERC20, Ownable {
    constructor(address initialOwner) ERC20("SONM Token", "SNM") Ownable(initialOwner) {}

    /// @notice Mints `amount` wei of SNM to `to`. Owner only.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
