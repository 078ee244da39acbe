// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title DAO: members vote on proposals (a target contract plus calldata) and execute them.
/// @notice A proposal passes with at least `quorum` yes votes and more yes than no votes. Members vote
/// until its deadline (`votingPeriod` after the proposal); a passed proposal is executed once, by anyone,
/// from `executionDelay` seconds after the deadline: never before the deadline, so that a quorum of early
/// voters cannot act before the others have voted, and with a delay in which everyone affected sees the
/// decision before it takes effect. Membership, quorum, voting period and execution delay change only
/// through proposals targeting this contract. The DAO is
/// the only caller of HubWallet.suspect/rehab/ban and Whitelist.setTrusted, and it receives the
/// payDay fees and banned wallets' funds.
contract DAO {
    struct Proposal {
        address proposer;
        address target;
        uint64 deadline;
        uint32 yes;
        uint32 no;
        bool executed;
        bytes data;
        string description;
    }

    error NotMember();
    error NotSelf();
    error ZeroAddress();
    error InvalidQuorum(uint256 quorum, uint256 members);
    error AlreadyMember(address account);
    error NotAMember(address account);
    error UnknownProposal(uint256 id);
    error VotingClosed(uint256 id);
    error AlreadyVoted(uint256 id, address voter);
    error NotPassed(uint256 id);
    error NotExecutableYet(uint256 id, uint256 executableAt);
    error AlreadyExecuted(uint256 id);
    error ExecutionFailed(uint256 id);
    error ZeroVotingPeriod();

    event MemberAdded(address indexed account);
    event MemberRemoved(address indexed account);
    event QuorumChanged(uint256 quorum);
    event VotingPeriodChanged(uint256 votingPeriod);
    event ExecutionDelayChanged(uint256 executionDelay);
    event Proposed(uint256 indexed id, address indexed proposer, address target, string description);
    event Voted(uint256 indexed id, address indexed voter, bool support);
    event Executed(uint256 indexed id);

    mapping(address account => bool) public isMember;
    uint256 public memberCount;
    uint256 public quorum;
    uint256 public votingPeriod;
    /// @notice Seconds between a proposal's voting deadline and the earliest time it can be executed.
    uint256 public executionDelay;

    Proposal[] private _proposals;
    mapping(uint256 id => mapping(address voter => bool)) public hasVoted;

    modifier onlyMember() {
        if (!isMember[msg.sender]) revert NotMember();
        _;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert NotSelf();
        _;
    }

    constructor(address[] memory members, uint256 quorum_, uint256 votingPeriod_, uint256 executionDelay_) {
        for (uint256 i; i < members.length; ++i) _addMember(members[i]);
        _setQuorum(quorum_);
        if (votingPeriod_ == 0) revert ZeroVotingPeriod();
        votingPeriod = votingPeriod_;
        executionDelay = executionDelay_;
    }

    // ---------------------------------------------------------------- proposals

    /// @notice Proposes calling `target` with `data`; the proposer's yes vote is counted.
    function propose(address target, bytes calldata data, string calldata description)
        external
        onlyMember
        returns (uint256 id)
    {
        if (target == address(0)) revert ZeroAddress();
        id = _proposals.length;
        _proposals.push(
            Proposal({
                proposer: msg.sender,
                target: target,
                deadline: uint64(block.timestamp + votingPeriod),
                yes: 0,
                no: 0,
                executed: false,
                data: data,
                description: description
            })
        );
        emit Proposed(id, msg.sender, target, description);
        _vote(id, true);
    }

    function vote(uint256 id, bool support) external onlyMember {
        _vote(id, support);
    }

    /// @notice Executes a passed proposal, from `executableAt(id)` on (its voting deadline plus the
    /// execution delay). A failing call reverts with the target's own error.
    function execute(uint256 id) external returns (bytes memory result) {
        Proposal storage p = _proposal(id);
        if (p.executed) revert AlreadyExecuted(id);
        uint256 at = _executableAt(p);
        if (block.timestamp < at) revert NotExecutableYet(id, at);
        if (!_passed(p)) revert NotPassed(id);
        p.executed = true;
        bool ok;
        (ok, result) = p.target.call(p.data);
        if (!ok) {
            if (result.length == 0) revert ExecutionFailed(id);
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        emit Executed(id);
    }

    // ---------------------------------------------------------------- self-governance

    function addMember(address account) external onlySelf {
        _addMember(account);
    }

    function removeMember(address account) external onlySelf {
        if (!isMember[account]) revert NotAMember(account);
        if (memberCount - 1 < quorum) revert InvalidQuorum(quorum, memberCount - 1);
        isMember[account] = false;
        --memberCount;
        emit MemberRemoved(account);
    }

    function setQuorum(uint256 quorum_) external onlySelf {
        _setQuorum(quorum_);
    }

    function setVotingPeriod(uint256 votingPeriod_) external onlySelf {
        if (votingPeriod_ == 0) revert ZeroVotingPeriod();
        votingPeriod = votingPeriod_;
        emit VotingPeriodChanged(votingPeriod_);
    }

    /// @notice Applies to proposals executed from now on, whenever they were made.
    function setExecutionDelay(uint256 executionDelay_) external onlySelf {
        executionDelay = executionDelay_;
        emit ExecutionDelayChanged(executionDelay_);
    }

    // ---------------------------------------------------------------- views

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function proposal(uint256 id) external view returns (Proposal memory) {
        return _proposal(id);
    }

    function passed(uint256 id) external view returns (bool) {
        return _passed(_proposal(id));
    }

    /// @notice The earliest time `execute(id)` is allowed: the voting deadline plus the execution delay.
    function executableAt(uint256 id) external view returns (uint256) {
        return _executableAt(_proposal(id));
    }

    // ---------------------------------------------------------------- internals

    function _vote(uint256 id, bool support) private {
        Proposal storage p = _proposal(id);
        if (block.timestamp >= p.deadline || p.executed) revert VotingClosed(id);
        if (hasVoted[id][msg.sender]) revert AlreadyVoted(id, msg.sender);
        hasVoted[id][msg.sender] = true;
        if (support) ++p.yes;
        else ++p.no;
        emit Voted(id, msg.sender, support);
    }

    function _executableAt(Proposal storage p) private view returns (uint256) {
        return uint256(p.deadline) + executionDelay;
    }

    function _passed(Proposal storage p) private view returns (bool) {
        return p.yes >= quorum && p.yes > p.no;
    }

    function _proposal(uint256 id) private view returns (Proposal storage) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        return _proposals[id];
    }

    function _addMember(address account) private {
        if (account == address(0)) revert ZeroAddress();
        if (isMember[account]) revert AlreadyMember(account);
        isMember[account] = true;
        ++memberCount;
        emit MemberAdded(account);
    }

    function _setQuorum(uint256 quorum_) private {
        if (quorum_ == 0 || quorum_ > memberCount) revert InvalidQuorum(quorum_, memberCount);
        quorum = quorum_;
        emit QuorumChanged(quorum_);
    }
}
