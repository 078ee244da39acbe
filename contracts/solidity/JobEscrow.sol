// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title JobEscrow (SONM whitepaper 2.4.5: the buyer's deposit for a task, confirmed through the contract)
/// @notice Holds a buyer's SNM for one job of one hub until the job is settled. An escrow is keyed by
/// (payee, buyer, jobId), so nobody can take a job id's place for someone else (a deposit by a third
/// party is a different escrow, which the hub ignores).
///
///   deposit  (buyer)   None -> Funded; more deposits while Funded top it up
///   refund   (payee)   Funded -> Closed: everything back to the buyer (a job cancelled before it ran)
///   settle   (payee)   Funded -> Settled(billed <= amount): the dispute window starts
///   confirm  (buyer)   Settled -> Closed: payee gets exactly `billed`, buyer gets amount - billed
///   dispute  (buyer)   Settled -> Disputed, inside the window only: the amount is frozen for the DAO
///   release  (anyone)  Settled -> Closed after the window: the same split as confirm
///   resolve  (DAO)     Disputed -> Closed: payee gets `toPayee` (<= amount), buyer the rest
///   reclaim  (buyer)   Funded -> Closed after `reclaimAfter` without a settlement: everything back
contract JobEscrow {
    using SafeERC20 for IERC20;

    enum State {
        None,
        Funded,
        Settled,
        Disputed,
        Closed
    }

    struct Escrow {
        uint256 amount;
        uint256 billed;
        uint64 fundedAt;
        uint64 settledAt;
        State state;
    }

    error NotDAO();
    error ZeroAddress();
    error ZeroAmount();
    error WrongState(State state);
    error BilledExceedsDeposit(uint256 amount, uint256 billed);
    error DisputeWindowOver(uint256 endedAt);
    error DisputeWindowOpen(uint256 endsAt);
    error ReclaimTooEarly(uint256 at);

    event Deposited(address indexed payee, address indexed buyer, bytes32 indexed jobId, uint256 amount, uint256 total);
    event Refunded(address indexed payee, address indexed buyer, bytes32 indexed jobId, uint256 amount);
    event Settled(address indexed payee, address indexed buyer, bytes32 indexed jobId, uint256 billed, uint256 windowEndsAt);
    event Disputed(address indexed payee, address indexed buyer, bytes32 indexed jobId, string reason);
    event Closed(address indexed payee, address indexed buyer, bytes32 indexed jobId, uint256 toPayee, uint256 toBuyer, string how);

    IERC20 public immutable token;
    address public immutable dao;
    /// @notice Seconds after settle in which the buyer may dispute; after it anyone may release.
    uint256 public immutable disputeWindow;
    /// @notice Seconds after the first deposit after which a buyer may take back an escrow never settled.
    uint256 public immutable reclaimAfter;

    mapping(bytes32 => Escrow) private escrows;

    constructor(IERC20 token_, address dao_, uint256 disputeWindow_, uint256 reclaimAfter_) {
        if (address(token_) == address(0) || dao_ == address(0)) revert ZeroAddress();
        token = token_;
        dao = dao_;
        disputeWindow = disputeWindow_;
        reclaimAfter = reclaimAfter_;
    }

    function keyOf(address payee, address buyer, bytes32 jobId) public pure returns (bytes32) {
        return keccak256(abi.encode(payee, buyer, jobId));
    }

    function escrowOf(address payee, address buyer, bytes32 jobId) external view returns (Escrow memory) {
        return escrows[keyOf(payee, buyer, jobId)];
    }

    /// @notice The buyer (msg.sender) locks `amount` for a job of `payee` (approve this contract first).
    function deposit(address payee, bytes32 jobId, uint256 amount) external {
        if (payee == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Escrow storage e = escrows[keyOf(payee, msg.sender, jobId)];
        if (e.state == State.None) {
            e.state = State.Funded;
            e.fundedAt = uint64(block.timestamp);
        } else if (e.state != State.Funded) {
            revert WrongState(e.state);
        }
        e.amount += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(payee, msg.sender, jobId, amount, e.amount);
    }

    /// @notice The payee returns everything (the job was cancelled before it ran).
    function refund(address buyer, bytes32 jobId) external {
        Escrow storage e = _expect(keyOf(msg.sender, buyer, jobId), State.Funded);
        uint256 amount = e.amount;
        e.state = State.Closed;
        token.safeTransfer(buyer, amount);
        emit Refunded(msg.sender, buyer, jobId, amount);
        emit Closed(msg.sender, buyer, jobId, 0, amount, "refund");
    }

    /// @notice The payee states what the job cost; the buyer confirms or disputes within the window.
    function settle(address buyer, bytes32 jobId, uint256 billed) external {
        Escrow storage e = _expect(keyOf(msg.sender, buyer, jobId), State.Funded);
        if (billed > e.amount) revert BilledExceedsDeposit(e.amount, billed);
        e.billed = billed;
        e.settledAt = uint64(block.timestamp);
        e.state = State.Settled;
        emit Settled(msg.sender, buyer, jobId, billed, block.timestamp + disputeWindow);
    }

    /// @notice The buyer accepts the settlement: payee gets `billed`, the buyer the rest.
    function confirm(address payee, bytes32 jobId) external {
        Escrow storage e = _expect(keyOf(payee, msg.sender, jobId), State.Settled);
        _close(e, payee, msg.sender, jobId, e.billed, "confirm");
    }

    /// @notice The buyer disputes the settlement inside the window: the amount stays frozen for the DAO.
    function dispute(address payee, bytes32 jobId, string calldata reason) external {
        Escrow storage e = _expect(keyOf(payee, msg.sender, jobId), State.Settled);
        uint256 endsAt = uint256(e.settledAt) + disputeWindow;
        if (block.timestamp >= endsAt) revert DisputeWindowOver(endsAt);
        e.state = State.Disputed;
        emit Disputed(payee, msg.sender, jobId, reason);
    }

    /// @notice After the dispute window anyone may close a settled escrow, as the buyer's confirm would.
    function release(address payee, address buyer, bytes32 jobId) external {
        Escrow storage e = _expect(keyOf(payee, buyer, jobId), State.Settled);
        uint256 endsAt = uint256(e.settledAt) + disputeWindow;
        if (block.timestamp < endsAt) revert DisputeWindowOpen(endsAt);
        _close(e, payee, buyer, jobId, e.billed, "release");
    }

    /// @notice The DAO decides a disputed escrow: `toPayee` to the payee, the rest to the buyer.
    function resolve(address payee, address buyer, bytes32 jobId, uint256 toPayee) external {
        if (msg.sender != dao) revert NotDAO();
        Escrow storage e = _expect(keyOf(payee, buyer, jobId), State.Disputed);
        if (toPayee > e.amount) revert BilledExceedsDeposit(e.amount, toPayee);
        _close(e, payee, buyer, jobId, toPayee, "resolve");
    }

    /// @notice A buyer takes back an escrow the payee never settled nor refunded within `reclaimAfter`.
    function reclaim(address payee, bytes32 jobId) external {
        Escrow storage e = _expect(keyOf(payee, msg.sender, jobId), State.Funded);
        uint256 at = uint256(e.fundedAt) + reclaimAfter;
        if (block.timestamp < at) revert ReclaimTooEarly(at);
        _close(e, payee, msg.sender, jobId, 0, "reclaim");
    }

    function _expect(bytes32 key, State want) private view returns (Escrow storage e) {
        e = escrows[key];
        if (e.state != want) revert WrongState(e.state);
    }

    function _close(Escrow storage e, address payee, address buyer, bytes32 jobId, uint256 toPayee, string memory how) private {
        uint256 toBuyer = e.amount - toPayee;
        e.state = State.Closed;
        if (toPayee > 0) token.safeTransfer(payee, toPayee);
        if (toBuyer > 0) token.safeTransfer(buyer, toBuyer);
        emit Closed(payee, buyer, jobId, toPayee, toBuyer, how);
    }
}
