# pragma version ~=0.4.3
"""
@title BatchSettlement
@notice Stateless unidirectional payment channels for x402's `batch-settlement`
        scheme on EVM: a payer escrows an ERC-20 once, signs cumulative vouchers
        off chain, and the receiver side claims many channels in one transaction
        and sweeps what it claimed in one transfer.
@dev Written from the x402 spec `scheme_batch_settlement_evm.md` ("Channel
     Lifecycle", "Claim & Settlement Strategy", "Verification Rules") and EIP-712,
     with the ABI, event signatures and EIP-712 types of the official SDK
     (x402 2.25, `mechanisms/evm/batch_settlement`), so the SDK's client,
     facilitator and server talk to it unchanged.

     Channel id: hashTypedData(ChannelConfig(address payer,address payerAuthorizer,
     address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,
     bytes32 salt)) under the domain {name "x402 Batch Settlement", version "1",
     chainId, verifyingContract = this contract}. The domain is computed from
     `chain.id` and `self` at every call and nothing is set at construction: the
     runtime code is copied to the canonical address
     0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003 and is correct there.

     Accounting per channel: `balance` (deposits minus refunds and withdrawals;
     claimed funds stay counted in it) and `totalClaimed` (cumulative, never
     decreasing). Unclaimed escrow is `balance - totalClaimed`. Per (receiver,
     token): `totalClaimed` and `totalSettled`; `settle` pays the difference.
     Two 128-bit values share one storage word (Vyper does not pack structs), so
     a claim reads and writes one slot per channel.

     Claim row (voucher, signature, totalClaimed): a row whose totalClaimed is at
     or below the channel's is a no-op (an old or repeated voucher claims nothing
     new, and its signature is not checked); otherwise totalClaimed must be at
     most the voucher's maxClaimableAmount and at most the channel's balance, and
     the voucher must be signed by payerAuthorizer (ECDSA only) or, if that is
     zero, by the payer (ECDSA for an account without code, ERC-1271 for a
     contract). `claim` is for the receiver or receiverAuthorizer of every row;
     `claimWithSignature` is for anyone with the receiverAuthorizer's EIP-712
     ClaimBatch signature (all rows share that authorizer). Claims stay open
     during a pending withdrawal.

     Refunds (`refund` by the receiver side, `refundWithSignature` with a
     Refund(channelId, nonce, amount) signature for the current refundNonce)
     first advance refundNonce, then pay the payer min(amount, unclaimed); a
     pending withdrawal shrinks by the refund or is cancelled if covered.
     A timed withdrawal (payer or payerAuthorizer) asks for at most the unclaimed
     escrow, and after withdrawDelay seconds (900 s to 30 days, enforced at
     deposit) pays what is then unclaimed, capped at the amount asked for.

     Reverts are reason strings, not the reference's custom errors (the SDK
     reports a failed simulation without decoding either). Sizes are bounded
     (Vyper): MAX_CLAIMS rows per batch (the SDK batches 100), signatures up to
     MAX_SIGNATURE bytes, MAX_CALLS calls of MAX_CALL bytes per multicall.
"""

MAX_CLAIMS: constant(uint256) = 128
MAX_SIGNATURE: constant(uint256) = 256
MAX_COLLECTOR_DATA: constant(uint256) = 1024
MAX_CALLS: constant(uint256) = 8
MAX_CALL: constant(uint256) = 4096
MAX_RESULT: constant(uint256) = 64  # every function here returns at most two words

MIN_WITHDRAW_DELAY: public(constant(uint40)) = 900
MAX_WITHDRAW_DELAY: public(constant(uint40)) = 2592000

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
NAME_HASH: constant(bytes32) = keccak256("x402 Batch Settlement")
VERSION_HASH: constant(bytes32) = keccak256("1")
CHANNEL_CONFIG_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)"
)
VOUCHER_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Voucher(bytes32 channelId,uint128 maxClaimableAmount)"
)
REFUND_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Refund(bytes32 channelId,uint256 nonce,uint128 amount)"
)
CLAIM_ENTRY_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)"
)
CLAIM_BATCH_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ClaimBatch(ClaimEntry[] claims)ClaimEntry(bytes32 channelId,uint128 maxClaimableAmount,uint128 totalClaimed)"
)

LOW: constant(uint256) = 2**128 - 1  # the low half of a packed word
# secp256k1n / 2: a signature with a larger s is the malleable twin of a valid one
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168
# ERC-1271: isValidSignature's selector, left-aligned in the returned word
ERC1271_MAGIC: constant(bytes32) = 0x1626ba7e00000000000000000000000000000000000000000000000000000000
MULTICALL_ID: constant(bytes4) = method_id("multicall(bytes[])", output_type=bytes4)


interface IERC20:
    def balanceOf(owner: address) -> uint256: view
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable


interface IDepositCollector:
    def collect(
        payer: address,
        token: address,
        amount: uint256,
        channelId: bytes32,
        collectorData: Bytes[MAX_COLLECTOR_DATA],
    ): nonpayable


struct ChannelConfig:
    payer: address
    payerAuthorizer: address
    receiver: address
    receiverAuthorizer: address
    token: address
    withdrawDelay: uint40
    salt: bytes32


struct Voucher:
    channel: ChannelConfig
    maxClaimableAmount: uint128


struct VoucherClaim:
    voucher: Voucher
    signature: Bytes[MAX_SIGNATURE]
    totalClaimed: uint128


event ChannelCreated:
    channelId: indexed(bytes32)
    config: ChannelConfig


event ChannelClosed:
    channelId: indexed(bytes32)
    config: ChannelConfig


event Deposited:
    channelId: indexed(bytes32)
    sender: indexed(address)
    amount: uint128
    newBalance: uint128


event Claimed:
    channelId: indexed(bytes32)
    sender: indexed(address)
    claimAmount: uint128
    newTotalClaimed: uint128


event Settled:
    receiver: indexed(address)
    token: indexed(address)
    sender: indexed(address)
    amount: uint128


event Refunded:
    channelId: indexed(bytes32)
    sender: indexed(address)
    amount: uint128


event WithdrawInitiated:
    channelId: indexed(bytes32)
    amount: uint128
    finalizeAfter: uint40


event WithdrawFinalized:
    channelId: indexed(bytes32)
    sender: indexed(address)
    amount: uint128


# packed words: balance << 128 | totalClaimed; amount << 128 | initiatedAt;
# totalClaimed << 128 | totalSettled
_channels: HashMap[bytes32, uint256]
_withdrawals: HashMap[bytes32, uint256]
_receivers: HashMap[address, HashMap[address, uint256]]
refundNonce: public(HashMap[bytes32, uint256])


# -- EIP-712 -------------------------------------------------------------------------


@view
@internal
def _separator() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@pure
@internal
def _typed(separator: bytes32, struct_hash: bytes32) -> bytes32:
    return keccak256(concat(b"\x19\x01", separator, struct_hash))


@pure
@internal
def _channel_id(separator: bytes32, config: ChannelConfig) -> bytes32:
    return self._typed(separator, keccak256(abi_encode(CHANNEL_CONFIG_TYPEHASH, config)))


@pure
@internal
def _voucher_digest(separator: bytes32, channelId: bytes32, maxClaimableAmount: uint128) -> bytes32:
    return self._typed(
        separator, keccak256(abi_encode(VOUCHER_TYPEHASH, channelId, maxClaimableAmount))
    )


@pure
@internal
def _entry(channelId: bytes32, maxClaimableAmount: uint128, totalClaimed: uint128) -> bytes32:
    return keccak256(abi_encode(CLAIM_ENTRY_TYPEHASH, channelId, maxClaimableAmount, totalClaimed))


@pure
@internal
def _batch_digest(separator: bytes32, entries: DynArray[bytes32, MAX_CLAIMS]) -> bytes32:
    # EIP-712 encodes an array as the hash of its members' encodings, concatenated:
    # abi_encode(entries) is (offset, length, members...)
    root: bytes32 = keccak256(slice(abi_encode(entries), 64, 32 * len(entries)))
    return self._typed(separator, keccak256(abi_encode(CLAIM_BATCH_TYPEHASH, root)))


@view
@external
def getChannelId(config: ChannelConfig) -> bytes32:
    return self._channel_id(self._separator(), config)


@view
@external
def getVoucherDigest(channelId: bytes32, maxClaimableAmount: uint128) -> bytes32:
    return self._voucher_digest(self._separator(), channelId, maxClaimableAmount)


@view
@external
def getRefundDigest(channelId: bytes32, nonce: uint256, amount: uint128) -> bytes32:
    return self._typed(
        self._separator(), keccak256(abi_encode(REFUND_TYPEHASH, channelId, nonce, amount))
    )


@view
@external
def getClaimBatchDigest(voucherClaims: DynArray[VoucherClaim, MAX_CLAIMS]) -> bytes32:
    separator: bytes32 = self._separator()
    entries: DynArray[bytes32, MAX_CLAIMS] = []
    for c: VoucherClaim in voucherClaims:
        cid: bytes32 = self._channel_id(separator, c.voucher.channel)
        entries.append(self._entry(cid, c.voucher.maxClaimableAmount, c.totalClaimed))
    return self._batch_digest(separator, entries)


# -- signatures ----------------------------------------------------------------------


@pure
@internal
def _ecdsa(digest: bytes32, signature: Bytes[MAX_SIGNATURE]) -> address:
    """The signer of a 65-byte r‖s‖v signature; the zero address if it is malformed."""
    if len(signature) != 65:
        return empty(address)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if s > HALF_N or (v != 27 and v != 28):
        return empty(address)
    return ecrecover(digest, v, convert(extract32(signature, 0), uint256), s)


@view
@internal
def _signed_by(signer: address, digest: bytes32, signature: Bytes[MAX_SIGNATURE]) -> bool:
    """Routed by code, as OpenZeppelin's SignatureChecker: ERC-1271 for a contract,
    ECDSA for an account without code."""
    if signer.is_contract:
        ok: bool = False
        answer: Bytes[32] = b""
        ok, answer = raw_call(
            signer,
            abi_encode(digest, signature, method_id=method_id("isValidSignature(bytes32,bytes)")),
            max_outsize=32,
            is_static_call=True,
            revert_on_failure=False,
        )
        return ok and len(answer) == 32 and extract32(answer, 0) == ERC1271_MAGIC
    recovered: address = self._ecdsa(digest, signature)
    return recovered != empty(address) and recovered == signer


# -- deposits ------------------------------------------------------------------------


@external
@nonreentrant
def deposit(
    config: ChannelConfig,
    amount: uint128,
    collector: address,
    collectorData: Bytes[MAX_COLLECTOR_DATA],
):
    """
    @notice Escrow `amount` of the channel's token, pulled by `collector` (which
            receives `collectorData` as it is); the channel exists from its first deposit.
    """
    assert config.payer != empty(address), "invalid channel"
    assert config.receiver != empty(address), "invalid channel"
    assert config.receiverAuthorizer != empty(address), "invalid channel"
    assert config.token != empty(address), "invalid channel"
    assert config.withdrawDelay >= MIN_WITHDRAW_DELAY, "withdraw delay out of range"
    assert config.withdrawDelay <= MAX_WITHDRAW_DELAY, "withdraw delay out of range"
    assert amount > 0, "zero deposit"
    assert collector != empty(address), "invalid collector"

    cid: bytes32 = self._channel_id(self._separator(), config)
    word: uint256 = self._channels[cid]
    balance: uint256 = (word >> 128) + convert(amount, uint256)
    assert balance <= LOW, "deposit overflow"
    self._channels[cid] = (balance << 128) | (word & LOW)

    # the collector is not trusted: the escrow must grow by exactly `amount`
    held: uint256 = staticcall IERC20(config.token).balanceOf(self)
    extcall IDepositCollector(collector).collect(
        config.payer, config.token, convert(amount, uint256), cid, collectorData
    )
    assert staticcall IERC20(config.token).balanceOf(self) == held + convert(amount, uint256), "deposit not collected"

    if balance == convert(amount, uint256) and word & LOW == 0:
        log ChannelCreated(channelId=cid, config=config)
    log Deposited(channelId=cid, sender=msg.sender, amount=amount, newBalance=convert(balance, uint128))


# -- claims and settlement -----------------------------------------------------------


@internal
def _claim(c: VoucherClaim, cid: bytes32, separator: bytes32):
    word: uint256 = self._channels[cid]
    claimed: uint256 = word & LOW
    target: uint256 = convert(c.totalClaimed, uint256)
    if target <= claimed:
        return  # an old voucher, or one claimed already: nothing new
    assert target <= convert(c.voucher.maxClaimableAmount, uint256), "claim exceeds voucher"
    assert target <= word >> 128, "claim exceeds balance"
    digest: bytes32 = self._voucher_digest(separator, cid, c.voucher.maxClaimableAmount)
    authorizer: address = c.voucher.channel.payerAuthorizer
    if authorizer != empty(address):
        assert self._ecdsa(digest, c.signature) == authorizer, "invalid voucher signature"
    else:
        assert self._signed_by(c.voucher.channel.payer, digest, c.signature), "invalid voucher signature"

    self._channels[cid] = (word - claimed) | target
    delta: uint256 = target - claimed
    # totalClaimed is the high half: an overflow past 128 bits overflows the word and reverts
    self._receivers[c.voucher.channel.receiver][c.voucher.channel.token] += delta << 128
    log Claimed(channelId=cid, sender=msg.sender, claimAmount=convert(delta, uint128), newTotalClaimed=c.totalClaimed)


@external
@nonreentrant
def claim(voucherClaims: DynArray[VoucherClaim, MAX_CLAIMS]):
    """
    @notice Record voucher claims; the caller is the receiver or receiverAuthorizer
            of every row's channel. No token moves (see `settle`).
    """
    assert len(voucherClaims) > 0, "empty batch"
    separator: bytes32 = self._separator()
    for c: VoucherClaim in voucherClaims:
        side: ChannelConfig = c.voucher.channel
        assert msg.sender == side.receiver or msg.sender == side.receiverAuthorizer, "not the receiver"
        self._claim(c, self._channel_id(separator, side), separator)


@external
@nonreentrant
def claimWithSignature(
    voucherClaims: DynArray[VoucherClaim, MAX_CLAIMS], authorizerSignature: Bytes[MAX_SIGNATURE]
):
    """
    @notice Record voucher claims authorized by the receiverAuthorizer's EIP-712
            ClaimBatch signature; anyone may submit. Every row has that authorizer.
    """
    assert len(voucherClaims) > 0, "empty batch"
    separator: bytes32 = self._separator()
    authorizer: address = voucherClaims[0].voucher.channel.receiverAuthorizer
    ids: DynArray[bytes32, MAX_CLAIMS] = []
    entries: DynArray[bytes32, MAX_CLAIMS] = []
    for c: VoucherClaim in voucherClaims:
        assert c.voucher.channel.receiverAuthorizer == authorizer, "mixed receiver authorizers"
        cid: bytes32 = self._channel_id(separator, c.voucher.channel)
        ids.append(cid)
        entries.append(self._entry(cid, c.voucher.maxClaimableAmount, c.totalClaimed))
    digest: bytes32 = self._batch_digest(separator, entries)
    assert self._signed_by(authorizer, digest, authorizerSignature), "invalid authorizer signature"
    for i: uint256 in range(len(voucherClaims), bound=MAX_CLAIMS):
        self._claim(voucherClaims[i], ids[i], separator)


@external
@nonreentrant
def settle(receiver: address, token: address):
    """
    @notice Pay `receiver` everything claimed for it in `token` and not yet paid;
            anyone may call. Nothing to pay is not an error.
    """
    word: uint256 = self._receivers[receiver][token]
    claimed: uint256 = word >> 128
    amount: uint256 = claimed - (word & LOW)
    if amount == 0:
        return
    self._receivers[receiver][token] = (claimed << 128) | claimed
    self._pay(token, receiver, amount)
    log Settled(receiver=receiver, token=token, sender=msg.sender, amount=convert(amount, uint128))


@internal
def _pay(token: address, receiver: address, amount: uint256):
    # a token that returns nothing (USDT-shaped) succeeds when it does not revert
    assert extcall IERC20(token).transfer(receiver, amount, default_return_value=True), "token transfer failed"


# -- timed withdrawal ----------------------------------------------------------------


@external
@nonreentrant
def initiateWithdraw(config: ChannelConfig, amount: uint128):
    """
    @notice Payer side: ask for `amount` of the unclaimed escrow back, payable after
            the channel's withdrawDelay. Claims stay open meanwhile.
    """
    assert msg.sender == config.payer or msg.sender == config.payerAuthorizer, "not the payer"
    assert amount > 0, "nothing to withdraw"
    cid: bytes32 = self._channel_id(self._separator(), config)
    assert self._withdrawals[cid] & LOW == 0, "withdrawal already pending"
    word: uint256 = self._channels[cid]
    assert convert(amount, uint256) <= (word >> 128) - (word & LOW), "withdrawal exceeds unclaimed balance"
    self._withdrawals[cid] = (convert(amount, uint256) << 128) | block.timestamp
    finalizeAfter: uint256 = block.timestamp + convert(config.withdrawDelay, uint256)
    log WithdrawInitiated(channelId=cid, amount=amount, finalizeAfter=convert(finalizeAfter, uint40))


@external
@nonreentrant
def finalizeWithdraw(config: ChannelConfig):
    """
    @notice Payer side, after withdrawDelay: pay the payer what was asked for, capped
            at what is unclaimed now.
    """
    assert msg.sender == config.payer or msg.sender == config.payerAuthorizer, "not the payer"
    cid: bytes32 = self._channel_id(self._separator(), config)
    pending: uint256 = self._withdrawals[cid]
    since: uint256 = pending & LOW
    assert since != 0, "no withdrawal pending"
    assert block.timestamp >= since + convert(config.withdrawDelay, uint256), "withdraw delay not elapsed"
    word: uint256 = self._channels[cid]
    claimed: uint256 = word & LOW
    amount: uint256 = min(pending >> 128, (word >> 128) - claimed)
    self._withdrawals[cid] = 0
    balance: uint256 = (word >> 128) - amount
    self._channels[cid] = (balance << 128) | claimed
    log WithdrawFinalized(channelId=cid, sender=msg.sender, amount=convert(amount, uint128))
    if balance == 0 and claimed == 0:
        log ChannelClosed(channelId=cid, config=config)
    if amount > 0:
        self._pay(config.token, config.payer, amount)


# -- cooperative refund --------------------------------------------------------------


@internal
def _refund(config: ChannelConfig, cid: bytes32, amount: uint128):
    assert amount > 0, "zero refund"
    # the nonce moves first, even when nothing is left to refund: a signed refund
    # for the old nonce is spent either way
    self.refundNonce[cid] += 1
    word: uint256 = self._channels[cid]
    claimed: uint256 = word & LOW
    paid: uint256 = min(convert(amount, uint256), (word >> 128) - claimed)
    if paid == 0:
        return
    balance: uint256 = (word >> 128) - paid
    self._channels[cid] = (balance << 128) | claimed
    pending: uint256 = self._withdrawals[cid]
    if pending & LOW != 0:
        if paid >= pending >> 128:
            self._withdrawals[cid] = 0
        else:
            self._withdrawals[cid] = pending - (paid << 128)
    log Refunded(channelId=cid, sender=msg.sender, amount=convert(paid, uint128))
    if balance == 0 and claimed == 0:
        log ChannelClosed(channelId=cid, config=config)
    self._pay(config.token, config.payer, paid)


@external
@nonreentrant
def refund(config: ChannelConfig, amount: uint128):
    """
    @notice Receiver side: return up to `amount` of the unclaimed escrow to the payer.
    """
    assert msg.sender == config.receiver or msg.sender == config.receiverAuthorizer, "not the receiver"
    self._refund(config, self._channel_id(self._separator(), config), amount)


@external
@nonreentrant
def refundWithSignature(
    config: ChannelConfig,
    amount: uint128,
    nonce: uint256,
    receiverAuthorizerSignature: Bytes[MAX_SIGNATURE],
):
    """
    @notice As `refund`, submitted by anyone with the receiverAuthorizer's EIP-712
            Refund signature for the channel's current refundNonce.
    """
    separator: bytes32 = self._separator()
    cid: bytes32 = self._channel_id(separator, config)
    assert nonce == self.refundNonce[cid], "wrong refund nonce"
    digest: bytes32 = self._typed(separator, keccak256(abi_encode(REFUND_TYPEHASH, cid, nonce, amount)))
    assert self._signed_by(config.receiverAuthorizer, digest, receiverAuthorizerSignature), "invalid authorizer signature"
    self._refund(config, cid, amount)


# -- views ---------------------------------------------------------------------------


@view
@external
def channels(channelId: bytes32) -> (uint128, uint128):
    """
    @notice (balance, totalClaimed) of a channel.
    """
    word: uint256 = self._channels[channelId]
    return convert(word >> 128, uint128), convert(word & LOW, uint128)


@view
@external
def pendingWithdrawals(channelId: bytes32) -> (uint128, uint40):
    """
    @notice (amount, initiatedAt) of a channel's timed withdrawal; zeros if none.
    """
    word: uint256 = self._withdrawals[channelId]
    return convert(word >> 128, uint128), convert(word & LOW, uint40)


@view
@external
def receivers(receiver: address, token: address) -> (uint128, uint128):
    """
    @notice (totalClaimed, totalSettled) of a receiver in a token.
    """
    word: uint256 = self._receivers[receiver][token]
    return convert(word >> 128, uint128), convert(word & LOW, uint128)


# -- batching ------------------------------------------------------------------------


@external
def multicall(data: DynArray[Bytes[MAX_CALL], MAX_CALLS]) -> DynArray[Bytes[MAX_RESULT], MAX_CALLS]:
    """
    @notice Run calls of this contract in order, in one transaction, as the caller
            (delegatecall to itself); one failure reverts all with its reason. The
            SDK sends claimWithSignature then refundWithSignature this way.
    """
    results: DynArray[Bytes[MAX_RESULT], MAX_CALLS] = []
    for call: Bytes[MAX_CALL] in data:
        # a nested multicall's results would not fit MAX_RESULT
        assert len(call) < 4 or convert(slice(call, 0, 4), bytes4) != MULTICALL_ID, "nested multicall"
        results.append(raw_call(self, call, max_outsize=MAX_RESULT, is_delegate_call=True))
    return results
