// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Stake: device owners stake SNM with a hub (whitepaper 2.8.3); the hub slashes a proven wrong result.
/// @notice A stake is kept per (hub, owner): only that hub (its owner key) can slash it. A stake of an owner is
/// at least `minStake` or nothing. Unstaking waits `unbondingPeriod`, and what is unbonding can still be
/// slashed, so an owner cannot withdraw ahead of a verdict. Slashed tokens go to the treasury (the DAO),
/// not to the hub, so a hub gains nothing by slashing.
contract Stake {
    using SafeERC20 for IERC20;

    struct Entry {
        uint256 staked;
        uint256 unbonding;
        uint64 unlockAt;
    }

    error ZeroAddress();
    error ZeroAmount();
    error BelowMinimum(uint256 total, uint256 minimum);
    error ExceedsStake(uint256 amount, uint256 staked);
    error NotStaked(address hub, address owner);
    error AlreadySlashed(bytes32 ref);
    error NothingToWithdraw();
    error StillLocked(uint64 unlockAt);

    event Staked(address indexed hub, address indexed owner, uint256 amount, uint256 total);
    event UnstakeRequested(address indexed hub, address indexed owner, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed hub, address indexed owner, uint256 amount);
    event Slashed(address indexed hub, address indexed owner, uint256 amount, bytes32 ref);

    IERC20 public immutable token;
    address public immutable treasury;
    uint256 public immutable minStake;
    uint64 public immutable unbondingPeriod;

    mapping(address hub => mapping(address owner => Entry)) private _entries;
    mapping(bytes32 ref => bool) public slashed;

    constructor(address token_, address treasury_, uint256 minStake_, uint64 unbondingPeriod_) {
        if (token_ == address(0) || treasury_ == address(0)) revert ZeroAddress();
        if (minStake_ == 0) revert ZeroAmount();
        token = IERC20(token_);
        treasury = treasury_;
        minStake = minStake_;
        unbondingPeriod = unbondingPeriod_;
    }

    /// @notice Stakes `amount` wei of SNM with `hub` (approve this contract first); the total must reach minStake.
    function stake(address hub, uint256 amount) external {
        if (hub == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Entry storage e = _entries[hub][msg.sender];
        uint256 total = e.staked + amount;
        if (total < minStake) revert BelowMinimum(total, minStake);
        e.staked = total;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(hub, msg.sender, amount, total);
    }

    /// @notice Starts unbonding `amount`; what stays staked must be nothing or at least minStake.
    function requestUnstake(address hub, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Entry storage e = _entries[hub][msg.sender];
        if (amount > e.staked) revert ExceedsStake(amount, e.staked);
        uint256 left = e.staked - amount;
        if (left != 0 && left < minStake) revert BelowMinimum(left, minStake);
        e.staked = left;
        e.unbonding += amount;
        e.unlockAt = uint64(block.timestamp) + unbondingPeriod;
        emit UnstakeRequested(hub, msg.sender, amount, e.unlockAt);
    }

    /// @notice Withdraws what finished unbonding.
    function withdraw(address hub) external {
        Entry storage e = _entries[hub][msg.sender];
        uint256 amount = e.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < e.unlockAt) revert StillLocked(e.unlockAt);
        e.unbonding = 0;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(hub, msg.sender, amount);
    }

    /// @notice The hub (msg.sender) slashes `amount` (at most all of it) of `owner`'s stake with it, staked first,
    /// then unbonding; `ref` names the proven wrong result and is used once.
    function slash(address owner, uint256 amount, bytes32 ref) external returns (uint256 cut) {
        if (amount == 0) revert ZeroAmount();
        if (slashed[ref]) revert AlreadySlashed(ref);
        Entry storage e = _entries[msg.sender][owner];
        uint256 total = e.staked + e.unbonding;
        if (total == 0) revert NotStaked(msg.sender, owner);
        cut = amount < total ? amount : total;
        slashed[ref] = true;
        if (cut <= e.staked) {
            e.staked -= cut;
        } else {
            e.unbonding -= cut - e.staked;
            e.staked = 0;
        }
        token.safeTransfer(treasury, cut);
        emit Slashed(msg.sender, owner, cut, ref);
    }

    function stakeOf(address hub, address owner) external view returns (uint256 staked, uint256 unbonding, uint64 unlockAt) {
        Entry storage e = _entries[hub][owner];
        return (e.staked, e.unbonding, e.unlockAt);
    }
}
