# pragma version ~=0.4.1
"""
@title CairnUSD
@notice The payment token of a local cairn network: an ERC-20 with EIP-3009
        ("Transfer With Authorization"), so that x402's `exact` scheme (the payer
        signs one EIP-712 `TransferWithAuthorization`, a facilitator submits it and
        pays the gas) works against it as it works against USDC.
@dev Written from the texts of ERC-20, EIP-712, EIP-3009 and EIP-5267, with the ABI
     USDC's FiatToken v2 exposes for EOA signatures: `transferWithAuthorization` and
     `receiveWithAuthorization` take (v, r, s); `cancelAuthorization`;
     `authorizationState`; the three type hashes as getters; EIP-712 domain
     name = the token name, version "2", the chain id and this contract.
     The domain separator is computed from `chain.id` at every call, so after a
     chain fork an authorization signed for one branch is refused on the other.
     Signatures are ECDSA from EOAs only, low s (EIP-2), v in {27, 28}. The
     `bytes signature` overloads FiatToken v2.2 adds for ERC-1271 contract wallets
     are out of scope: Vyper cannot overload a function name (x402 submits the
     (v, r, s) form for a 65-byte EOA signature).
     Nonces are random 32-byte values chosen by the signer (EIP-3009), not a
     counter, so a payer can have many authorizations outstanding at once.
     `mint` is open to the deployer only: the faucet of a development network.
     Revert reasons follow FiatToken's wording, so a facilitator that reads them
     (x402 maps "authorization is used or canceled" and the balance refusal to its
     own error codes) understands this token the same way.
"""

# secp256k1n / 2: a signature with a larger s is the malleable twin of a valid one
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
TRANSFER_WITH_AUTHORIZATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
)
RECEIVE_WITH_AUTHORIZATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
)
CANCEL_AUTHORIZATION_TYPEHASH: public(constant(bytes32)) = keccak256(
    "CancelAuthorization(address authorizer,bytes32 nonce)"
)
version: public(constant(String[1])) = "2"
VERSION_HASH: constant(bytes32) = keccak256("2")
# EIP-5267: name, version, chainId and verifyingContract are set; no salt, no extensions
DOMAIN_FIELDS: constant(bytes1) = 0x0f


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


event AuthorizationUsed:
    authorizer: indexed(address)
    nonce: indexed(bytes32)


event AuthorizationCanceled:
    authorizer: indexed(address)
    nonce: indexed(bytes32)


name: public(immutable(String[64]))
symbol: public(immutable(String[32]))
decimals: public(immutable(uint8))
minter: public(immutable(address))
NAME_HASH: immutable(bytes32)

totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
# EIP-3009: authorizer => nonce => used or canceled
authorizationState: public(HashMap[address, HashMap[bytes32, bool]])


@deploy
def __init__(name_: String[64], symbol_: String[32], decimals_: uint8):
    name = name_
    symbol = symbol_
    decimals = decimals_
    minter = msg.sender
    NAME_HASH = keccak256(name_)


# -- ERC-20 ------------------------------------------------------------------------------


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "transfer to the zero address"
    assert self.balanceOf[sender] >= amount, "transfer amount exceeds balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(_to: address, _value: uint256) -> bool:
    self._transfer(msg.sender, _to, _value)
    return True


@external
def transferFrom(_from: address, _to: address, _value: uint256) -> bool:
    allowed: uint256 = self.allowance[_from][msg.sender]
    assert allowed >= _value, "transfer amount exceeds allowance"
    self.allowance[_from][msg.sender] = allowed - _value
    self._transfer(_from, _to, _value)
    return True


@external
def approve(_spender: address, _value: uint256) -> bool:
    self.allowance[msg.sender][_spender] = _value
    log Approval(owner=msg.sender, spender=_spender, value=_value)
    return True


@external
def mint(_to: address, _value: uint256):
    """
    @notice Create `_value` tokens for `_to`: the deployer only (a dev network's faucet).
    """
    assert msg.sender == minter, "caller is not the minter"
    assert _to != empty(address), "mint to the zero address"
    self.totalSupply += _value
    self.balanceOf[_to] += _value
    log Transfer(sender=empty(address), receiver=_to, value=_value)


# -- EIP-712 -----------------------------------------------------------------------------


@view
@internal
def _domain_separator() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@view
@external
def DOMAIN_SEPARATOR() -> bytes32:
    return self._domain_separator()


@view
@external
def eip712Domain() -> (bytes1, String[64], String[1], uint256, address, bytes32, DynArray[uint256, 1]):
    """
    @notice EIP-5267: the fields of this contract's EIP-712 domain.
    """
    return DOMAIN_FIELDS, name, version, chain.id, self, empty(bytes32), []


@view
@internal
def _require_signed(signer: address, struct_hash: bytes32, v: uint8, r: bytes32, s: bytes32):
    assert v == 27 or v == 28, "bad signature v"
    assert convert(s, uint256) <= HALF_N, "malleable signature"
    digest: bytes32 = keccak256(concat(b"\x19\x01", self._domain_separator(), struct_hash))
    recovered: address = ecrecover(digest, v, r, s)
    # ecrecover answers 0 for a signature that recovers nothing: never the zero address's
    assert recovered != empty(address) and recovered == signer, "invalid signature"


# -- EIP-3009 ----------------------------------------------------------------------------


@internal
def _use_authorization(
    typehash: bytes32,
    _from: address,
    _to: address,
    _value: uint256,
    validAfter: uint256,
    validBefore: uint256,
    nonce: bytes32,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    assert block.timestamp > validAfter, "authorization is not yet valid"
    assert block.timestamp < validBefore, "authorization is expired"
    assert not self.authorizationState[_from][nonce], "authorization is used or canceled"
    struct_hash: bytes32 = keccak256(
        abi_encode(typehash, _from, _to, _value, validAfter, validBefore, nonce)
    )
    self._require_signed(_from, struct_hash, v, r, s)
    self.authorizationState[_from][nonce] = True
    log AuthorizationUsed(authorizer=_from, nonce=nonce)
    self._transfer(_from, _to, _value)


@external
def transferWithAuthorization(
    _from: address,
    _to: address,
    _value: uint256,
    validAfter: uint256,
    validBefore: uint256,
    nonce: bytes32,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @notice Move `_value` from `_from` to `_to` with `_from`'s signed authorization;
            anyone may submit it, once, strictly between validAfter and validBefore.
    """
    self._use_authorization(
        TRANSFER_WITH_AUTHORIZATION_TYPEHASH,
        _from, _to, _value, validAfter, validBefore, nonce, v, r, s,
    )


@external
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
):
    """
    @notice As transferWithAuthorization, but only the payee may submit it (EIP-3009:
            a front-runner cannot spend the authorization ahead of a payee contract).
    """
    assert _to == msg.sender, "caller must be the payee"
    self._use_authorization(
        RECEIVE_WITH_AUTHORIZATION_TYPEHASH,
        _from, _to, _value, validAfter, validBefore, nonce, v, r, s,
    )


@external
def cancelAuthorization(authorizer: address, nonce: bytes32, v: uint8, r: bytes32, s: bytes32):
    """
    @notice Spend `nonce` without a transfer, with `authorizer`'s signature, so an
            authorization made with it can never be used.
    """
    assert not self.authorizationState[authorizer][nonce], "authorization is used or canceled"
    struct_hash: bytes32 = keccak256(abi_encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce))
    self._require_signed(authorizer, struct_hash, v, r, s)
    self.authorizationState[authorizer][nonce] = True
    log AuthorizationCanceled(authorizer=authorizer, nonce=nonce)
