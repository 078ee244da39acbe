// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {HubParams, BPS} from "./HubParams.sol";

/// @notice What a HubWallet tells the Whitelist when it is banned (the Whitelist checks it is listed).
interface IBanRegistry {
    function reportBan() external;
}

/// @title HubWallet (SONM whitepaper 2.4.3.2)
/// @notice The wallet a hub pays its miners from. Registration freezes a deposit; every payout locks
/// a lock fee of the hub's own funds until payDay, so a hub that drains its wallet "as payouts" still
/// leaves the lock behind. Payouts are approvals: a miner claims its allowance from this contract.
/// The DAO can suspect the wallet (everything blocked), rehabilitate it, or, after the suspect
/// period, ban it: every token it holds is seized, stays frozen in the wallet for `banFreezePeriod`
/// (whitepaper 2.4.3.2: "frozen for some specified time", against malicious DAO decisions) and only
/// then can be released to the DAO; the ban is reported to the Whitelist.
///
/// Balance invariant while Registered or Idle: balance >= frozenFunds + lockedFunds + totalOwed.
contract HubWallet {
    using SafeERC20 for IERC20;

    enum State {
        Created,
        Registered,
        Idle,
        Suspected,
        Punished
    }

    error NotOwner();
    error NotDAO();
    error NotFactory();
    error WrongState(State state);
    error InvalidParams();
    error ZeroAddress();
    error ZeroAmount();
    error LengthMismatch();
    error EmptyBatch();
    error InsufficientFunds(uint256 available, uint256 required);
    error ClaimExceedsAllowance(uint256 allowance, uint256 requested);
    error PayoutPeriodNotOver(uint256 endsAt);
    error SuspectPeriodNotOver(uint256 endsAt);
    error SeizedFundsFrozen(uint256 endsAt);

    event HubRegistered(uint256 frozen, uint256 at);
    event Paid(address indexed miner, uint256 amount, uint256 lock);
    event BatchPaid(uint256 count, uint256 total, uint256 lock);
    event Claimed(address indexed miner, uint256 amount);
    event PayDayDone(uint256 daoFee, uint256 unlocked);
    event Withdrawn(address indexed to, uint256 amount);
    event HubSuspected(uint256 at);
    event HubRehabilitated();
    event HubBanned(uint256 seized);
    event SeizedReleased(uint256 amount);

    IERC20 public immutable token;
    address public immutable owner;
    address public immutable dao;
    address public immutable factory;
    /// @notice The Whitelist told of a ban (zero for a wallet made outside the factory: never listed).
    address public immutable whitelist;
    uint256 public immutable deposit;
    uint256 public immutable lockFeeBps;
    uint256 public immutable daoFeeBps;
    uint256 public immutable payoutPeriod;
    uint256 public immutable suspectPeriod;
    uint256 public immutable banFreezePeriod;

    State public state;
    uint64 public registeredAt;
    uint64 public suspectedAt;
    uint64 public bannedAt;

    /// @notice The registration deposit, frozen while Registered.
    uint256 public frozenFunds;
    /// @notice Lock fees accumulated during the current payout period.
    uint256 public lockedFunds;
    /// @notice Sum of all miners' unclaimed allowances.
    uint256 public totalOwed;
    /// @notice What the ban seized, frozen here until `bannedAt + banFreezePeriod` (then zero once released).
    uint256 public seizedFunds;
    /// @notice What each miner may claim (only while Registered or Idle).
    mapping(address miner => uint256) public allowance;

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier onlyDAO() {
        if (msg.sender != dao) revert NotDAO();
        _;
    }

    modifier inState(State expected) {
        if (state != expected) revert WrongState(state);
        _;
    }

    /// @dev The deployer is the factory: only it can register a Created wallet.
    constructor(IERC20 token_, address owner_, address dao_, address whitelist_, HubParams memory p) {
        if (address(token_) == address(0) || owner_ == address(0) || dao_ == address(0)) revert ZeroAddress();
        if (p.lockFeeBps > BPS || p.daoFeeBps > BPS) revert InvalidParams();
        token = token_;
        owner = owner_;
        dao = dao_;
        factory = msg.sender;
        whitelist = whitelist_;
        deposit = p.deposit;
        lockFeeBps = p.lockFeeBps;
        daoFeeBps = p.daoFeeBps;
        payoutPeriod = p.payoutPeriod;
        suspectPeriod = p.suspectPeriod;
        banFreezePeriod = p.banFreezePeriod;
    }

    // ---------------------------------------------------------------- registration

    /// @notice Freezes the deposit and starts a payout period. From Created by the factory only
    /// (at creation), from Idle by the owner (re-registration).
    function register() external {
        State s = state;
        if (s == State.Created) {
            if (msg.sender != factory) revert NotFactory();
        } else if (s == State.Idle) {
            if (msg.sender != owner) revert NotOwner();
        } else {
            revert WrongState(s);
        }
        uint256 free = _balance() - totalOwed;
        if (free < deposit) revert InsufficientFunds(free, deposit);
        frozenFunds = deposit;
        registeredAt = uint64(block.timestamp);
        state = State.Registered;
        emit HubRegistered(deposit, block.timestamp);
    }

    // ---------------------------------------------------------------- payouts

    /// @notice Approves `amount` to `miner` and locks amount * lockFeeBps / 10000 of the hub's funds
    /// until payDay. Refused if the balance would not cover frozen + locked funds and all allowances.
    function transfer(address miner, uint256 amount) external onlyOwner inState(State.Registered) {
        if (miner == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 lock = (amount * lockFeeBps) / BPS;
        _reserve(amount, lock);
        unchecked {
            // allowance[miner] <= totalOwed, and _reserve checked totalOwed + amount.
            allowance[miner] += amount;
        }
        emit Paid(miner, amount, lock);
    }

    /// @notice Pays many miners in one transaction: one allowance write per miner, one lock for the
    /// batch total (floor(total * lockFeeBps / 10000)), one event.
    function transferBatch(address[] calldata miners, uint256[] calldata amounts)
        external
        onlyOwner
        inState(State.Registered)
    {
        uint256 n = miners.length;
        if (n != amounts.length) revert LengthMismatch();
        if (n == 0) revert EmptyBatch();
        uint256 total;
        for (uint256 i; i < n; ) {
            address miner = miners[i];
            if (miner == address(0)) revert ZeroAddress();
            uint256 amount = amounts[i];
            total += amount;
            unchecked {
                // Bounded by totalOwed + total, which _reserve checks below (a revert undoes all).
                allowance[miner] += amount;
                ++i;
            }
        }
        if (total == 0) revert ZeroAmount();
        uint256 lock = (total * lockFeeBps) / BPS;
        _reserve(total, lock);
        emit BatchPaid(n, total, lock);
    }

    /// @notice A miner takes `amount` of its allowance. Blocked while Suspected or Punished.
    function claim(uint256 amount) external {
        _claim(amount);
    }

    /// @notice A miner takes its whole allowance.
    function claimAll() external returns (uint256 amount) {
        amount = allowance[msg.sender];
        _claim(amount);
    }

    /// @notice After the payout period: 0.5% (daoFeeBps) of the locked funds to the DAO, everything
    /// unlocked, state Idle.
    function payDay() external onlyOwner inState(State.Registered) {
        uint256 endsAt = uint256(registeredAt) + payoutPeriod;
        if (block.timestamp < endsAt) revert PayoutPeriodNotOver(endsAt);
        uint256 locked = lockedFunds;
        uint256 fee = (locked * daoFeeBps) / BPS;
        uint256 unlocked = locked + frozenFunds - fee;
        lockedFunds = 0;
        frozenFunds = 0;
        state = State.Idle;
        emit PayDayDone(fee, unlocked);
        if (fee != 0) token.safeTransfer(dao, fee);
    }

    /// @notice While Idle the owner may take everything not owed to miners.
    function withdraw(address to, uint256 amount) external onlyOwner inState(State.Idle) {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 free = _balance() - totalOwed;
        if (amount > free) revert InsufficientFunds(free, amount);
        emit Withdrawn(to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- DAO

    /// @notice Blocks all funds (owner and miners alike) for at least suspectPeriod.
    function suspect() external onlyDAO inState(State.Registered) {
        suspectedAt = uint64(block.timestamp);
        state = State.Suspected;
        emit HubSuspected(block.timestamp);
    }

    /// @notice Clears the suspicion at any time: all freezes removed, state Idle.
    function rehab() external onlyDAO inState(State.Suspected) {
        lockedFunds = 0;
        frozenFunds = 0;
        state = State.Idle;
        emit HubRehabilitated();
    }

    /// @notice After suspectPeriod: every token the wallet holds is seized and frozen here for
    /// banFreezePeriod, the wallet is Punished for good, and the Whitelist marks the hub banned.
    function ban() external onlyDAO inState(State.Suspected) {
        uint256 endsAt = uint256(suspectedAt) + suspectPeriod;
        if (block.timestamp < endsAt) revert SuspectPeriodNotOver(endsAt);
        uint256 seized = _balance();
        lockedFunds = 0;
        frozenFunds = 0;
        totalOwed = 0;
        seizedFunds = seized;
        bannedAt = uint64(block.timestamp);
        state = State.Punished;
        emit HubBanned(seized);
        if (whitelist != address(0)) IBanRegistry(whitelist).reportBan();
    }

    /// @notice After the freeze, anyone may send what the wallet holds (the seized funds and anything
    /// sent to it since) to the DAO.
    function releaseSeized() external inState(State.Punished) {
        uint256 endsAt = uint256(bannedAt) + banFreezePeriod;
        if (block.timestamp < endsAt) revert SeizedFundsFrozen(endsAt);
        uint256 amount = _balance();
        if (amount == 0) revert ZeroAmount();
        seizedFunds = 0;
        emit SeizedReleased(amount);
        token.safeTransfer(dao, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice What `miner` can claim right now.
    function claimable(address miner) external view returns (uint256) {
        State s = state;
        return s == State.Registered || s == State.Idle ? allowance[miner] : 0;
    }

    /// @notice Funds a transfer could still use (balance minus frozen, locked and owed); none once banned
    /// (the balance is seized).
    function available() external view returns (uint256) {
        if (state == State.Punished) return 0;
        uint256 bal = _balance();
        uint256 reserved = frozenFunds + lockedFunds + totalOwed;
        return bal > reserved ? bal - reserved : 0;
    }

    /// @notice Everything a client needs in one call.
    function info()
        external
        view
        returns (
            State currentState,
            uint256 balance,
            uint256 frozen,
            uint256 locked,
            uint256 owed,
            uint256 registeredTime,
            uint256 suspectedTime
        )
    {
        return (state, _balance(), frozenFunds, lockedFunds, totalOwed, registeredAt, suspectedAt);
    }

    // ---------------------------------------------------------------- internals

    function _reserve(uint256 amount, uint256 lock) private {
        uint256 newLocked = lockedFunds + lock;
        uint256 newOwed = totalOwed + amount;
        uint256 required = frozenFunds + newLocked + newOwed;
        uint256 bal = _balance();
        if (bal < required) revert InsufficientFunds(bal, required);
        lockedFunds = newLocked;
        totalOwed = newOwed;
    }

    function _claim(uint256 amount) private {
        State s = state;
        if (s != State.Registered && s != State.Idle) revert WrongState(s);
        if (amount == 0) revert ZeroAmount();
        uint256 allowed = allowance[msg.sender];
        if (amount > allowed) revert ClaimExceedsAllowance(allowed, amount);
        unchecked {
            allowance[msg.sender] = allowed - amount;
            totalOwed -= amount;
        }
        emit Claimed(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    function _balance() private view returns (uint256) {
        return token.balanceOf(address(this));
    }
}
