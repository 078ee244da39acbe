// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Whitelist: the registry of hubs (owner, wallet, endpoint) with a DAO-managed trusted flag.
/// @notice Only the HubFactory adds hubs, so every listed wallet is a genuine HubWallet. A banned
/// wallet reports its ban here: the hub shows `banned` (and when), is no longer trusted, and its record
/// is frozen (no endpoint change, no trust change).
contract Whitelist {
    struct Hub {
        address owner;
        bool trusted;
        bool banned;
        uint64 bannedAt;
        string endpoint;
    }

    error NotDAO();
    error NotFactory();
    error NotDeployer();
    error NotHubOwner();
    error ZeroAddress();
    error FactoryAlreadySet();
    error AlreadyListed(address wallet);
    error NotListed(address wallet);
    error IndexOutOfRange(uint256 index);
    error HubIsBanned(address wallet);

    event FactorySet(address factory);
    event HubListed(address indexed wallet, address indexed owner, string endpoint);
    event EndpointChanged(address indexed wallet, string endpoint);
    event TrustChanged(address indexed wallet, bool trusted);
    event HubBanned(address indexed wallet, uint256 at);

    address public immutable dao;
    address public immutable deployer;
    address public factory;

    mapping(address wallet => Hub) private _hubs;
    address[] private _wallets;

    constructor(address dao_) {
        if (dao_ == address(0)) revert ZeroAddress();
        dao = dao_;
        deployer = msg.sender;
    }

    /// @notice One-time wiring of the factory (the factory needs this contract's address first).
    function setFactory(address factory_) external {
        if (msg.sender != deployer) revert NotDeployer();
        if (factory != address(0)) revert FactoryAlreadySet();
        if (factory_ == address(0)) revert ZeroAddress();
        factory = factory_;
        emit FactorySet(factory_);
    }

    function register(address owner, address wallet, string calldata endpoint) external {
        if (msg.sender != factory) revert NotFactory();
        if (_hubs[wallet].owner != address(0)) revert AlreadyListed(wallet);
        _hubs[wallet] = Hub({owner: owner, trusted: false, banned: false, bannedAt: 0, endpoint: endpoint});
        _wallets.push(wallet);
        emit HubListed(wallet, owner, endpoint);
    }

    /// @notice The hub owner updates the endpoint (IP, URL) it announces.
    function setEndpoint(address wallet, string calldata endpoint) external {
        Hub storage entry = _listed(wallet);
        if (msg.sender != entry.owner) revert NotHubOwner();
        if (entry.banned) revert HubIsBanned(wallet);
        entry.endpoint = endpoint;
        emit EndpointChanged(wallet, endpoint);
    }

    function setTrusted(address wallet, bool trusted) external {
        if (msg.sender != dao) revert NotDAO();
        Hub storage entry = _listed(wallet);
        if (entry.banned) revert HubIsBanned(wallet);
        entry.trusted = trusted;
        emit TrustChanged(wallet, trusted);
    }

    /// @notice Called by a listed HubWallet from its `ban()`: the hub is marked banned and untrusted
    /// for good, and its record can no longer change.
    function reportBan() external {
        Hub storage entry = _listed(msg.sender);
        if (entry.banned) revert HubIsBanned(msg.sender);
        entry.banned = true;
        entry.bannedAt = uint64(block.timestamp);
        emit HubBanned(msg.sender, block.timestamp);
        if (entry.trusted) {
            entry.trusted = false;
            emit TrustChanged(msg.sender, false);
        }
    }

    function hub(address wallet) external view returns (Hub memory) {
        return _listed(wallet);
    }

    function isListed(address wallet) external view returns (bool) {
        return _hubs[wallet].owner != address(0);
    }

    /// @notice False for a banned hub (a ban clears the flag).
    function isTrusted(address wallet) external view returns (bool) {
        return _hubs[wallet].trusted;
    }

    function isBanned(address wallet) external view returns (bool) {
        return _hubs[wallet].banned;
    }

    function hubCount() external view returns (uint256) {
        return _wallets.length;
    }

    function walletAt(uint256 index) external view returns (address) {
        if (index >= _wallets.length) revert IndexOutOfRange(index);
        return _wallets[index];
    }

    function _listed(address wallet) private view returns (Hub storage hub_) {
        hub_ = _hubs[wallet];
        if (hub_.owner == address(0)) revert NotListed(wallet);
    }
}
