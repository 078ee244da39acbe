// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The numbers of a HubWallet, all set at deployment (whitepaper 2.4.3.2 defaults in brackets).
struct HubParams {
    /// Funds frozen on registration, in token wei [1 SNM].
    uint256 deposit;
    /// Share of every payout locked until payDay, in basis points [3000 = 30%].
    uint256 lockFeeBps;
    /// Share of the locked funds paid to the DAO on payDay, in basis points [50 = 0.5%].
    uint256 daoFeeBps;
    /// Seconds from registration until payDay is allowed [30 days].
    uint256 payoutPeriod;
    /// Seconds a suspected wallet stays blocked before the DAO may ban it [120 days].
    uint256 suspectPeriod;
    /// Seconds a banned wallet's seized funds stay frozen before they can be released to the DAO [30 days].
    uint256 banFreezePeriod;
}

uint256 constant BPS = 10_000;
