# pragma version ~=0.4.3
"""
@title ERC3009DepositCollector
@notice Pulls a batch-settlement deposit from the payer with an EIP-3009
        `receiveWithAuthorization` and hands it to the BatchSettlement contract.
@dev x402 `scheme_batch_settlement_evm.md` ("Channel creation and deposits", the
     `eip3009` asset transfer method) and EIP-3009 ("receiveWithAuthorization").
     EIP-3009 lets only the payee submit a receive authorization, so the payer
     signs ReceiveWithAuthorization{from: payer, to: this collector, value:
     amount, validAfter, validBefore, nonce} under the token's own EIP-712 domain;
     the tokens land here and are forwarded to the settlement contract, which
     checks its balance grew by the amount.
     The authorization nonce is keccak256(abi.encode(bytes32 channelId, uint256
     salt)): it binds the authorization to one channel, so a relayer cannot
     credit it to another. `collectorData` is abi.encode(uint256 validAfter,
     uint256 validBefore, uint256 salt, bytes signature) with a 65-byte r‖s‖v
     signature, passed to the token as (v, r, s) — the USDC (FiatToken v2) form
     for EOA payers. Only the settlement contract may call `collect`: anyone else
     could replay a payer's authorization and keep the tokens.
     The settlement address is an immutable, part of the runtime code, so the code
     copied to the canonical address 0x4020806089470a89826cB9fB1f4059150b550004
     keeps it. The Permit2 collector (the `permit2` method) is out of scope.
"""

MAX_COLLECTOR_DATA: constant(uint256) = 1024


interface IERC20:
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable


interface IERC3009:
    def receiveWithAuthorization(
        _from: address,
        _to: address,
        _value: uint256,
        validAfter: uint256,
        validBefore: uint256,
        nonce: bytes32,
        v: uint8,
        r: bytes32,
        s: bytes32,
    ): nonpayable


x402BatchSettlement: public(immutable(address))


@deploy
def __init__(settlement: address):
    assert settlement != empty(address), "zero settlement address"
    x402BatchSettlement = settlement


@external
def collect(
    payer: address,
    token: address,
    amount: uint256,
    channelId: bytes32,
    collectorData: Bytes[MAX_COLLECTOR_DATA],
):
    """
    @notice Pull `amount` of `token` from `payer` with its receive authorization for
            channel `channelId`, and forward it to the settlement contract.
    """
    assert msg.sender == x402BatchSettlement, "only the settlement contract"
    validAfter: uint256 = 0
    validBefore: uint256 = 0
    salt: uint256 = 0
    signature: Bytes[65] = b""
    validAfter, validBefore, salt, signature = abi_decode(
        collectorData, (uint256, uint256, uint256, Bytes[65])
    )
    assert len(signature) == 65, "signature is not 65 bytes"
    nonce: bytes32 = keccak256(abi_encode(channelId, salt))
    extcall IERC3009(token).receiveWithAuthorization(
        payer,
        self,
        amount,
        validAfter,
        validBefore,
        nonce,
        convert(slice(signature, 64, 1), uint8),
        extract32(signature, 0),
        extract32(signature, 32),
    )
    assert extcall IERC20(token).transfer(x402BatchSettlement, amount, default_return_value=True), "token transfer failed"
