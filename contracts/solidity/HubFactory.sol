// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {HubParams, BPS} from "./HubParams.sol";
import {HubWallet} from "./HubWallet.sol";
import {Whitelist} from "./Whitelist.sol";

/// @title HubFactory: the only way to get a registered HubWallet.
/// @notice createHubWallet pulls the deposit from the caller (who approved this factory), deploys the
/// wallet owned by the caller, registers it (freezing the deposit) and lists it on the Whitelist.
contract HubFactory {
    using SafeERC20 for IERC20;

    error ZeroAddress();
    error InvalidParams();

    event HubCreated(address indexed owner, address indexed wallet, string endpoint);

    IERC20 public immutable token;
    address public immutable dao;
    Whitelist public immutable whitelist;
    uint256 public immutable deposit;
    uint256 public immutable lockFeeBps;
    uint256 public immutable daoFeeBps;
    uint256 public immutable payoutPeriod;
    uint256 public immutable suspectPeriod;
    uint256 public immutable banFreezePeriod;

    constructor(IERC20 token_, address dao_, Whitelist whitelist_, HubParams memory p) {
        if (address(token_) == address(0) || dao_ == address(0) || address(whitelist_) == address(0)) {
            revert ZeroAddress();
        }
        if (p.lockFeeBps > BPS || p.daoFeeBps > BPS) revert InvalidParams();
        token = token_;
        dao = dao_;
        whitelist = whitelist_;
        deposit = p.deposit;
        lockFeeBps = p.lockFeeBps;
        daoFeeBps = p.daoFeeBps;
        payoutPeriod = p.payoutPeriod;
        suspectPeriod = p.suspectPeriod;
        banFreezePeriod = p.banFreezePeriod;
    }

    function params() public view returns (HubParams memory) {
        return HubParams({
            deposit: deposit,
            lockFeeBps: lockFeeBps,
            daoFeeBps: daoFeeBps,
            payoutPeriod: payoutPeriod,
            suspectPeriod: suspectPeriod,
            banFreezePeriod: banFreezePeriod
        });
    }

    function createHubWallet(string calldata endpoint) external returns (HubWallet wallet) {
        wallet = new HubWallet(token, msg.sender, dao, address(whitelist), params());
        if (deposit != 0) token.safeTransferFrom(msg.sender, address(wallet), deposit);
        wallet.register();
        whitelist.register(msg.sender, address(wallet), endpoint);
        emit HubCreated(msg.sender, address(wallet), endpoint);
    }
}
