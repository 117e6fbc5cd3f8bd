// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title VerityToken
 * @notice The ERC-20 of Verity's compute rewards. One token unit is one micro-unit of the off-chain ledger
 * (6 decimals: 1 token = 1 credit = 1,000,000 micro-units).
 *
 * Two flows, kept apart on purpose:
 * - rewards: `mintWithReceipt` mints to a worker for a receipt in the transparency log, when an attestor signed
 *   an EIP-712 `ReceiptMint`. This is the only way tokens come into existence.
 * - payments: a buyer's money moves only through the escrow (VeritySettlement), which transfers existing
 *   tokens and never mints.
 *
 * Roles:
 * - DEFAULT_ADMIN_ROLE sets the reward economics (`setRewardPolicy`) and appoints coordinators.
 * - COORDINATOR_ROLE administers ATTESTOR_ROLE: the coordinator rotates its own secp256k1 attestor keys
 *   without holding the admin key.
 * - ATTESTOR_ROLE: its signatures authorise mints.
 *
 * Reward policy (why two numbers): `maxRewardPerReceipt` caps what all payees of one receipt may receive
 * together, so one receipt cannot be inflated; `mintBudget` is what the attestors may still mint in total, so
 * a stolen attestor key, which can invent receipt digests at will, mints at most the remaining budget before
 * the coordinator revokes it. The admin tops the budget up as rewards are due. Both default to 0: minting is
 * off until the admin turns it on.
 */
contract VerityToken is ERC20, AccessControl, EIP712 {
    bytes32 public constant COORDINATOR_ROLE = keccak256("COORDINATOR_ROLE");
    bytes32 public constant ATTESTOR_ROLE = keccak256("ATTESTOR_ROLE");

    bytes32 public constant RECEIPT_MINT_TYPEHASH = keccak256(
        "ReceiptMint(bytes32 receiptDigest,bytes32 executionId,address payee,uint256 amount,uint256 deadline)"
    );

    /// @notice A mint authorised by an attestor for one receipt and one payee.
    struct ReceiptMint {
        /// The receipt's leaf in the transparency log (SHA-256 of its DSSE payload).
        bytes32 receiptDigest;
        /// keccak256 of the execution id's UTF-8.
        bytes32 executionId;
        address payee;
        /// Token units (micro-units).
        uint256 amount;
        /// Last block timestamp at which the mint is valid.
        uint256 deadline;
    }

    /// Most that all payees of one receipt may be minted together; 0 turns minting off.
    uint256 public maxRewardPerReceipt;
    /// What may still be minted in total; each mint draws it down.
    uint256 public mintBudget;
    /// Minted so far per receipt digest, across its payees.
    mapping(bytes32 receiptDigest => uint256) public mintedForReceipt;
    /// Whether (receipt digest, payee) was already minted: once each.
    mapping(bytes32 receiptDigest => mapping(address payee => bool)) public receiptMinted;

    event ReceiptMinted(bytes32 indexed receiptDigest, bytes32 indexed executionId, address indexed payee, uint256 amount);
    event RewardPolicySet(uint256 maxRewardPerReceipt, uint256 mintBudget);

    error UnauthorizedAttestor(address signer);
    error MintExpired(uint256 deadline);
    error ReceiptAlreadyMinted(bytes32 receiptDigest, address payee);
    error MintingDisabled();
    error RewardOverCap(uint256 amount, uint256 remainingForReceipt);
    error MintBudgetExceeded(uint256 amount, uint256 budget);
    error ZeroPayee();

    constructor(address admin) ERC20("Verity", "VRTY") EIP712("VerityToken", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setRoleAdmin(ATTESTOR_ROLE, COORDINATOR_ROLE);
    }

    /// @notice One token unit is one micro-unit of the ledger.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Sets the per-receipt cap and the remaining mint budget (replaces, does not add).
    function setRewardPolicy(uint256 maxPerReceipt, uint256 budget) external onlyRole(DEFAULT_ADMIN_ROLE) {
        maxRewardPerReceipt = maxPerReceipt;
        mintBudget = budget;
        emit RewardPolicySet(maxPerReceipt, budget);
    }

    /**
     * @notice Mints `m.amount` to `m.payee` for a receipt, if an attestor signed `m` (EIP-712, this chain and
     * this contract), before `m.deadline`, once per (receipt, payee), within the per-receipt cap and the budget.
     * Anyone may submit it: the signature, not the sender, authorises the mint.
     */
    function mintWithReceipt(ReceiptMint calldata m, bytes calldata attestorSig) external {
        if (block.timestamp > m.deadline) revert MintExpired(m.deadline);
        if (m.payee == address(0)) revert ZeroPayee();
        // ECDSA.recover refuses high-s and malformed signatures, so one authorisation has one encoding.
        address signer = ECDSA.recover(hashReceiptMint(m), attestorSig);
        if (!hasRole(ATTESTOR_ROLE, signer)) revert UnauthorizedAttestor(signer);
        if (receiptMinted[m.receiptDigest][m.payee]) revert ReceiptAlreadyMinted(m.receiptDigest, m.payee);
        uint256 cap = maxRewardPerReceipt;
        if (cap == 0) revert MintingDisabled();
        uint256 minted = mintedForReceipt[m.receiptDigest];
        // The admin may lower the cap below what a receipt already got: then nothing more is left for it.
        uint256 remaining = minted >= cap ? 0 : cap - minted;
        if (m.amount > remaining) revert RewardOverCap(m.amount, remaining);
        if (m.amount > mintBudget) revert MintBudgetExceeded(m.amount, mintBudget);

        receiptMinted[m.receiptDigest][m.payee] = true;
        mintedForReceipt[m.receiptDigest] = minted + m.amount;
        mintBudget -= m.amount;
        _mint(m.payee, m.amount);
        emit ReceiptMinted(m.receiptDigest, m.executionId, m.payee, m.amount);
    }

    /// @notice The EIP-712 digest an attestor signs for `m` (so off-chain signers can check theirs agrees).
    function hashReceiptMint(ReceiptMint calldata m) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(RECEIPT_MINT_TYPEHASH, m.receiptDigest, m.executionId, m.payee, m.amount, m.deadline))
        );
    }
}
