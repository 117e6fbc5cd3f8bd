// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice The Groth16 verifier `verity zk export-solidity` writes (snarkjs's template) for the batch circuit.
interface IGroth16Verifier {
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[13] calldata signals)
        external
        view
        returns (bool);
}

/**
 * @title VeritySettlement
 * @notice An escrow for any ERC-20 that pays out exactly the settlements Verity's marketplace signs.
 *
 * A buyer signs an EIP-712 `Order` (listing, workflow digest, token, the most it will pay, a deadline, a
 * nonce) and deposits against it. When a run of the order completes or the buyer cancels it, the coordinator's
 * attestor signs a `Settlement` naming the execution, its receipt revision and digest, the order it draws on
 * and the payouts. Anyone may submit both signatures to `settle`; the contract checks them and pays.
 *
 * Payouts are CUMULATIVE per payee (what the payee should have received for the execution over all its
 * revisions so far), and the contract transfers only what each payee is still owed. Why not deltas: a
 * revision's delta is correct only on top of every earlier revision, and the replay rule (a revision must be
 * greater than the last settled one) lets a later revision settle before or without an earlier one; with
 * cumulative amounts the latest revision alone pays everything due and a skipped revision loses nothing.
 * A transfer cannot be taken back, so a revision that lowers a payee's cumulative amount below what it was
 * already paid reverts (`PayoutBelowPaid`): the chain never charges the buyer more than the latest signed
 * settlement says.
 *
 * An order funds one execution and an execution draws on one order (both bound by the first settlement): the
 * buyer's `maxAmount` bounds everything that execution is ever paid, retries included, a stolen attestor key
 * cannot spread one order over many runs, and an execution's revisions cannot be replayed against another order.
 *
 * Payees are bound: the escrow pays only accounts whose holder signed an `AddressBinding` to a Verity
 * principal and whose binding the coordinator (`COORDINATOR_ROLE`, a cold key) registered with `bindPayee`. A
 * stolen attestor key (a hot key) can then pay only addresses the coordinator registered, each with its
 * holder's own signature, never an address of its own.
 *
 * An order may pin a Groth16 verifier (`zkVerifier`, the buyer's choice, like `--zk-key` off chain): it then
 * settles only through `settleWithProofs`, with the execution's zero-knowledge batch proofs that every step was
 * signed by a registered worker key and that the steps chain from the workflow to the result. The proofs'
 * registry root must be one the coordinator accepted (`acceptRegistryRoot`): otherwise a stolen attestor key
 * could prove runs with Baby Jubjub keys of its own under a registry of its own; with it, a stolen attestor key
 * cannot settle a zk order at all. The step-id commitment (the last batch's `sNext`) is not checked here: the
 * contract does not know which steps the workflow has; `verity verify --level zk` checks it off chain.
 */
contract VeritySettlement is AccessControl, EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant COORDINATOR_ROLE = keccak256("COORDINATOR_ROLE");
    bytes32 public constant ATTESTOR_ROLE = keccak256("ATTESTOR_ROLE");

    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(bytes32 listingId,bytes32 workflowDigest,address payer,address token,address zkVerifier,uint256 maxAmount,uint256 deadline,uint256 nonce)"
    );
    bytes32 public constant ADDRESS_BINDING_TYPEHASH = keccak256("AddressBinding(bytes32 principal,address account)");
    bytes32 public constant PAYOUT_TYPEHASH = keccak256("Payout(address payee,uint256 amount)");
    bytes32 public constant SETTLEMENT_TYPEHASH = keccak256(
        "Settlement(bytes32 executionId,uint256 revision,bytes32 receiptDigest,bytes32 resultDigest,bytes32 listingId,bytes32 workflowDigest,address payer,address token,bytes32 orderDigest,Payout[] payouts)Payout(address payee,uint256 amount)"
    );

    /// @notice What a buyer signs: the most it pays for one run of a listing's workflow, in one token.
    struct Order {
        bytes32 listingId;
        bytes32 workflowDigest;
        address payer;
        address token;
        /// The Groth16 verifier of the batch circuit the payer trusts; zero: no proof required.
        address zkVerifier;
        uint256 maxAmount;
        /// Last block timestamp at which the order can be settled; after it the payer reclaims the rest.
        uint256 deadline;
        /// Lets a payer sign several otherwise equal orders.
        uint256 nonce;
    }

    struct Payout {
        address payee;
        /// Cumulative over the execution's revisions, in token units.
        uint256 amount;
    }

    /// @notice What the attestor signs: the on-chain form of a settlement statement that moves buyer money.
    struct Settlement {
        /// keccak256 of the execution id's UTF-8.
        bytes32 executionId;
        /// The receipt revision this settles; must exceed the last settled revision of the execution (and fit 32 bits).
        uint256 revision;
        /// The receipt's leaf in the transparency log (SHA-256 of its DSSE payload).
        bytes32 receiptDigest;
        /// The receipt's result digest (SHA-256): what a zk order's proofs must end in.
        bytes32 resultDigest;
        bytes32 listingId;
        bytes32 workflowDigest;
        address payer;
        address token;
        /// The EIP-712 digest of the order it draws on (`hashOrder`).
        bytes32 orderDigest;
        /// Sorted by payee, strictly ascending (one entry per payee).
        Payout[] payouts;
    }

    /// @notice One batch's Groth16 proof, in the argument form of the verifier's `verifyProof`, with its public
    /// signals in the circuit's order: first, final, cPrev, cNext, sPrev, sNext, execHi, execLo, wfHi, wfLo,
    /// registryRoot, resultHi, resultLo.
    struct ZkBatch {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
        uint256[13] signals;
    }

    /// @dev One order's money and its execution's progress. The amounts and the revision share one slot (a
    /// settlement updates them together); 112 bits hold 5·10^33 micro-units, far beyond any token's supply.
    struct Escrow {
        uint112 deposited;
        /// What its settlements paid out (or, after `reclaim`, everything: nothing is left to spend).
        uint112 spent;
        /// The last settled revision of the execution this order funds.
        uint32 lastRevision;
        /// The execution this order funds, set by its first settlement.
        bytes32 executionId;
    }

    mapping(bytes32 orderDigest => Escrow) public escrows;
    /// The order an execution draws on, set by its first settlement: one order per execution, one execution per order.
    mapping(bytes32 executionId => bytes32 orderDigest) public executionOrder;
    /// What each payee has been paid for an execution, over all its revisions.
    mapping(bytes32 executionId => mapping(address payee => uint256)) public paidTo;
    /// The Verity principal (keccak256 of its ledger account name) each payable account is bound to; zero: unbound.
    mapping(address account => bytes32 principal) public payeePrincipal;
    /// Registry roots of worker keys the coordinator vouches for: a zk proof must be under one of them.
    mapping(uint256 root => bool) public acceptedRegistryRoot;

    event Deposited(bytes32 indexed orderDigest, address indexed payer, uint256 amount);
    event Settled(
        bytes32 indexed executionId,
        uint256 revision,
        bytes32 indexed receiptDigest,
        address indexed payer,
        uint256 total,
        uint256 paidNow
    );
    event Reclaimed(bytes32 indexed orderDigest, address indexed payer, uint256 amount);
    event PayeeBound(bytes32 indexed principal, address indexed account);
    event RegistryRootAccepted(uint256 root);

    error UnauthorizedAttestor(address signer);
    error InvalidOrderSignature(address signer, address payer);
    error SettlementNotForOrder();
    error ZeroExecutionId();
    error OrderFundsOtherExecution(bytes32 executionId);
    error ExecutionDrawsOnOtherOrder(bytes32 orderDigest);
    error OrderExpired(uint256 deadline);
    error OrderNotExpired(uint256 deadline);
    error RevisionAlreadySettled(uint256 revision, uint256 lastRevision);
    error PayoutsNotSorted();
    error PayoutBelowPaid(address payee, uint256 paid, uint256 amount);
    error OverMaxAmount(uint256 total, uint256 maxAmount);
    error InsufficientDeposit(uint256 needed, uint256 available);
    error NotPayer(address sender);
    error NothingToReclaim();
    error UnboundPayee(address payee);
    error ZeroPrincipal();
    error InvalidBindingSignature(address signer, address account);
    error ZkProofRequired(address verifier);
    error NoZkVerifier();
    error ExecutionIdMismatch();
    error NoZkBatches();
    error ZkBatchOutOfPlace(uint256 batch);
    error ZkBatchesNotChained(uint256 batch);
    error ZkProofForOtherExecution(uint256 batch);
    error ZkProofForOtherWorkflow(uint256 batch);
    error ZkProofForOtherResult(uint256 batch);
    error UnknownRegistryRoot(uint256 root);
    error ZkProofInvalid(uint256 batch);

    constructor(address admin) EIP712("VeritySettlement", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setRoleAdmin(ATTESTOR_ROLE, COORDINATOR_ROLE);
    }

    /**
     * @notice The payer funds its order. Only the payer deposits, so that `reclaim` returns money to whoever
     * put it in. What arrives is counted (a token that charges a transfer fee credits less than `amount`).
     */
    function deposit(Order calldata order, uint256 amount) external nonReentrant {
        if (msg.sender != order.payer) revert NotPayer(msg.sender);
        if (block.timestamp > order.deadline) revert OrderExpired(order.deadline);
        bytes32 digest = hashOrder(order);
        Escrow storage escrow = escrows[digest];
        IERC20 token = IERC20(order.token);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        escrow.deposited = SafeCast.toUint112(escrow.deposited + received);
        emit Deposited(digest, order.payer, received);
    }

    /**
     * @notice Pays what a settlement still owes, for an order that pins no zk verifier. Checks, in order: the
     * attestor's role, the payer's signature, that the settlement is for this order, the deadline, the replay
     * rule, the order's binding to one execution (and of the execution to one order), the payouts' order and
     * bindings, the buyer's cap and the deposit.
     */
    function settle(
        Order calldata order,
        bytes calldata orderSig,
        Settlement calldata s,
        bytes calldata attestorSig
    ) external nonReentrant {
        if (order.zkVerifier != address(0)) revert ZkProofRequired(order.zkVerifier);
        _pay(order, _authorize(order, orderSig, s, attestorSig), s);
    }

    /**
     * @notice `settle` for an order that pins a zk verifier: the execution's batch proofs, in batch order, must
     * verify under it, chain from the first batch to the final one, and name this execution (`executionId`,
     * its text, whose keccak256 the settlement carries and whose SHA-256 the circuit takes), the order's
     * workflow, the settlement's result and a registry root the coordinator accepted.
     */
    function settleWithProofs(
        Order calldata order,
        bytes calldata orderSig,
        Settlement calldata s,
        bytes calldata attestorSig,
        string calldata executionId,
        ZkBatch[] calldata batches
    ) external nonReentrant {
        if (order.zkVerifier == address(0)) revert NoZkVerifier();
        bytes32 orderDigest = _authorize(order, orderSig, s, attestorSig);
        if (keccak256(bytes(executionId)) != s.executionId) revert ExecutionIdMismatch();
        _checkProofs(IGroth16Verifier(order.zkVerifier), s, executionId, batches);
        _pay(order, orderDigest, s);
    }

    /**
     * @notice Binds `account` to the Verity principal `principal` so that settlements may pay it. Only the
     * coordinator, and only with the account holder's EIP-712 `AddressBinding` signature: neither the
     * coordinator nor a stolen attestor key can make the escrow pay an address nobody bound. Binding an
     * account again to another principal replaces the binding (the event records each one).
     */
    function bindPayee(bytes32 principal, address account, bytes calldata accountSig)
        external
        onlyRole(COORDINATOR_ROLE)
    {
        if (principal == bytes32(0)) revert ZeroPrincipal();
        address signer = ECDSA.recover(hashAddressBinding(principal, account), accountSig);
        if (signer != account) revert InvalidBindingSignature(signer, account);
        payeePrincipal[account] = principal;
        emit PayeeBound(principal, account);
    }

    /**
     * @notice Accepts a registry root of worker keys for zk proofs. Only the coordinator (the operator's cold
     * key), not the attestor (a hot key): a stolen attestor key cannot vouch for keys of its own.
     */
    function acceptRegistryRoot(uint256 root) external onlyRole(COORDINATOR_ROLE) {
        acceptedRegistryRoot[root] = true;
        emit RegistryRootAccepted(root);
    }

    /// @notice After the deadline, returns what the order's settlements did not spend to the payer (anyone may call).
    function reclaim(Order calldata order) external nonReentrant {
        if (block.timestamp <= order.deadline) revert OrderNotExpired(order.deadline);
        bytes32 digest = hashOrder(order);
        Escrow storage escrow = escrows[digest];
        uint256 rest = escrow.deposited - escrow.spent;
        if (rest == 0) revert NothingToReclaim();
        // Marked spent, not deleted: the execution binding and the revision stay, so nothing can replay.
        escrow.spent = escrow.deposited;
        IERC20(order.token).safeTransfer(order.payer, rest);
        emit Reclaimed(digest, order.payer, rest);
    }

    /// @notice The EIP-712 digest an account's holder signs to bind it to `principal`.
    function hashAddressBinding(bytes32 principal, address account) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ADDRESS_BINDING_TYPEHASH, principal, account)));
    }

    /// @notice The EIP-712 digest a payer signs for `order`.
    function hashOrder(Order calldata order) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ORDER_TYPEHASH,
                    order.listingId,
                    order.workflowDigest,
                    order.payer,
                    order.token,
                    order.zkVerifier,
                    order.maxAmount,
                    order.deadline,
                    order.nonce
                )
            )
        );
    }

    /// @notice The EIP-712 digest an attestor signs for `s`.
    function hashSettlement(Settlement calldata s) public view returns (bytes32) {
        bytes32[] memory payoutHashes = new bytes32[](s.payouts.length);
        for (uint256 i = 0; i < s.payouts.length; i++) {
            payoutHashes[i] = keccak256(abi.encode(PAYOUT_TYPEHASH, s.payouts[i].payee, s.payouts[i].amount));
        }
        // abi.encode would add an offset and a length; EIP-712 hashes an array as its elements' hashes packed.
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SETTLEMENT_TYPEHASH,
                    s.executionId,
                    s.revision,
                    s.receiptDigest,
                    s.resultDigest,
                    s.listingId,
                    s.workflowDigest,
                    s.payer,
                    s.token,
                    s.orderDigest,
                    keccak256(abi.encodePacked(payoutHashes))
                )
            )
        );
    }

    /// What `settle` and `settleWithProofs` share once the settlement is authorised (and proven): the accounting and the transfers.
    function _pay(Order calldata order, bytes32 orderDigest, Settlement calldata s) private {
        uint256[] memory owed = _account(order, orderDigest, s);
        // Transfers last (checks, effects, interactions): a token calling back sees the settlement done.
        IERC20 token = IERC20(order.token);
        for (uint256 i = 0; i < owed.length; i++) {
            if (owed[i] > 0) token.safeTransfer(s.payouts[i].payee, owed[i]);
        }
    }

    /// Each batch in its place, chained to the previous one, about this execution, workflow and result, under an
    /// accepted registry root, and a valid proof. Cheap checks first: the verifier costs ~280k gas per batch.
    function _checkProofs(
        IGroth16Verifier verifier,
        Settlement calldata s,
        string calldata executionId,
        ZkBatch[] calldata batches
    ) private view {
        if (batches.length == 0) revert NoZkBatches();
        (uint256 execHi, uint256 execLo) = _halves(sha256(bytes(executionId)));
        (uint256 wfHi, uint256 wfLo) = _halves(s.workflowDigest);
        (uint256 resultHi, uint256 resultLo) = _halves(s.resultDigest);
        uint256 last = batches.length - 1;
        for (uint256 i = 0; i <= last; i++) {
            uint256[13] calldata p = batches[i].signals;
            if (p[0] != (i == 0 ? 1 : 0) || p[1] != (i == last ? 1 : 0)) revert ZkBatchOutOfPlace(i);
            // cPrev/sPrev continue the previous batch's cNext/sNext; the step-id chain starts at 0 (the circuit
            // forces batch 0's cPrev to the salted start itself).
            if (i == 0 ? p[4] != 0 : (p[2] != batches[i - 1].signals[3] || p[4] != batches[i - 1].signals[5])) {
                revert ZkBatchesNotChained(i);
            }
            if (p[6] != execHi || p[7] != execLo) revert ZkProofForOtherExecution(i);
            if (p[8] != wfHi || p[9] != wfLo) revert ZkProofForOtherWorkflow(i);
            if (p[11] != resultHi || p[12] != resultLo) revert ZkProofForOtherResult(i);
            if (!acceptedRegistryRoot[p[10]]) revert UnknownRegistryRoot(p[10]);
            if (!verifier.verifyProof(batches[i].a, batches[i].b, batches[i].c, p)) revert ZkProofInvalid(i);
        }
    }

    /// A SHA-256 digest as the circuit takes it: the high and low 128 bits.
    function _halves(bytes32 digest) private pure returns (uint256 hi, uint256 lo) {
        hi = uint256(digest) >> 128;
        lo = uint256(digest) & type(uint128).max;
    }

    /// The signatures and the settlement's match with the order; returns the order's digest.
    function _authorize(
        Order calldata order,
        bytes calldata orderSig,
        Settlement calldata s,
        bytes calldata attestorSig
    ) private view returns (bytes32 orderDigest) {
        address attestor = ECDSA.recover(hashSettlement(s), attestorSig);
        if (!hasRole(ATTESTOR_ROLE, attestor)) revert UnauthorizedAttestor(attestor);
        orderDigest = hashOrder(order);
        address payerSigner = ECDSA.recover(orderDigest, orderSig);
        if (payerSigner != order.payer) revert InvalidOrderSignature(payerSigner, order.payer);
        if (
            s.orderDigest != orderDigest || s.listingId != order.listingId || s.workflowDigest != order.workflowDigest
                || s.payer != order.payer || s.token != order.token
        ) revert SettlementNotForOrder();
        if (block.timestamp > order.deadline) revert OrderExpired(order.deadline);
    }

    /// The replay rule, the order and execution binding, the cap and the deposit; records the payments and returns what each payee is owed now.
    function _account(Order calldata order, bytes32 orderDigest, Settlement calldata s)
        private
        returns (uint256[] memory owed)
    {
        // Zero marks an unbound order below, so it cannot be an execution's id (keccak256 of an id never is).
        if (s.executionId == bytes32(0)) revert ZeroExecutionId();
        Escrow storage escrow = escrows[orderDigest];
        if (escrow.executionId == bytes32(0)) {
            bytes32 bound = executionOrder[s.executionId];
            if (bound != bytes32(0)) revert ExecutionDrawsOnOtherOrder(bound);
            escrow.executionId = s.executionId;
            executionOrder[s.executionId] = orderDigest;
        } else if (escrow.executionId != s.executionId) {
            revert OrderFundsOtherExecution(escrow.executionId);
        }
        if (s.revision <= escrow.lastRevision) revert RevisionAlreadySettled(s.revision, escrow.lastRevision);

        uint256 paidNow;
        (owed, paidNow) = _recordOwed(s);
        // One order funds one execution, so what the order spent is what the execution was paid.
        uint256 total = escrow.spent + paidNow;
        if (total > order.maxAmount) revert OverMaxAmount(total, order.maxAmount);
        uint256 available = escrow.deposited - escrow.spent;
        if (paidNow > available) revert InsufficientDeposit(paidNow, available);

        escrow.spent = uint112(total); // total <= deposited, a uint112
        escrow.lastRevision = SafeCast.toUint32(s.revision);
        emit Settled(s.executionId, s.revision, s.receiptDigest, order.payer, total, paidNow);
    }

    /// Records, per payee, what its cumulative amount exceeds what it was already paid; returns those and their sum.
    function _recordOwed(Settlement calldata s) private returns (uint256[] memory owed, uint256 sum) {
        owed = new uint256[](s.payouts.length);
        address previous = address(0);
        for (uint256 i = 0; i < s.payouts.length; i++) {
            Payout calldata payout = s.payouts[i];
            // Strictly ascending, so no payee appears twice (and the zero address, the lowest, never).
            if (payout.payee <= previous) revert PayoutsNotSorted();
            previous = payout.payee;
            if (payeePrincipal[payout.payee] == bytes32(0)) revert UnboundPayee(payout.payee);
            uint256 paid = paidTo[s.executionId][payout.payee];
            if (payout.amount < paid) revert PayoutBelowPaid(payout.payee, paid, payout.amount);
            owed[i] = payout.amount - paid;
            if (owed[i] == 0) continue;
            paidTo[s.executionId][payout.payee] = payout.amount;
            sum += owed[i];
        }
    }
}
