# pragma version ~=0.4.1
"""
@title PaymentChannels
@notice Unidirectional payment channels paid with cumulative EIP-712 vouchers.
@dev A payer opens a channel to a payee with a deposit and may top it up. The payee
     redeems the latest voucher Voucher(channelId, amount), signed by the payer under
     the EIP-712 domain {name, version, chainId, verifyingContract}; `amount` is
     cumulative, so only its growth is paid and a voucher can never pay twice. The
     domain binds a voucher to one chain and one contract, the channel id to one
     channel. The payer may start closing; the payee then has `closeWindow` seconds to
     redeem before the payer withdraws what is left.
     Spec: EIP-712 (typed structured data hashing and signing), EIP-2 (low-s).
"""

DOMAIN_TYPEHASH: constant(bytes32) = keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
VOUCHER_TYPEHASH: constant(bytes32) = keccak256("Voucher(uint256 channelId,uint256 amount)")
NAME_HASH: constant(bytes32) = keccak256("Cairn PaymentChannels")
VERSION_HASH: constant(bytes32) = keccak256("1")
SECP256K1N_HALF: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168


struct Channel:
    payer: address
    payee: address
    deposit: uint256
    paid: uint256
    closesAt: uint256


event Opened:
    channelId: indexed(uint256)
    payer: indexed(address)
    payee: indexed(address)
    deposit: uint256


event ToppedUp:
    channelId: indexed(uint256)
    amount: uint256
    deposit: uint256


event Redeemed:
    channelId: indexed(uint256)
    amount: uint256
    paid: uint256


event CloseStarted:
    channelId: indexed(uint256)
    closesAt: uint256


event Closed:
    channelId: indexed(uint256)
    refunded: uint256


closeWindow: public(immutable(uint256))
channels: public(HashMap[uint256, Channel])
channelCount: public(uint256)


@deploy
def __init__(_closeWindow: uint256):
    closeWindow = _closeWindow


@view
@internal
def _domainSeparator() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@view
@external
def domainSeparator() -> bytes32:
    return self._domainSeparator()


@payable
@external
def open(payee: address) -> uint256:
    assert payee != empty(address), "zero payee"
    assert payee != msg.sender, "payee is payer"
    assert msg.value > 0, "zero deposit"
    cid: uint256 = self.channelCount + 1
    self.channelCount = cid
    self.channels[cid] = Channel(payer=msg.sender, payee=payee, deposit=msg.value, paid=0, closesAt=0)
    log Opened(channelId=cid, payer=msg.sender, payee=payee, deposit=msg.value)
    return cid


@payable
@external
def topUp(channelId: uint256):
    assert self.channels[channelId].payer != empty(address), "unknown channel"
    assert self.channels[channelId].closesAt == 0, "channel closing"
    assert msg.value > 0, "zero deposit"
    total: uint256 = self.channels[channelId].deposit + msg.value
    self.channels[channelId].deposit = total
    log ToppedUp(channelId=channelId, amount=msg.value, deposit=total)


@external
def redeem(channelId: uint256, amount: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @notice Pay the payee the growth of a cumulative voucher. Anyone may submit it;
            the money always goes to the payee.
    """
    payer: address = self.channels[channelId].payer
    assert payer != empty(address), "unknown channel"
    closesAt: uint256 = self.channels[channelId].closesAt
    assert closesAt == 0 or block.timestamp < closesAt, "channel closed"
    paid: uint256 = self.channels[channelId].paid
    assert amount > paid, "voucher already redeemed"
    assert amount <= self.channels[channelId].deposit, "voucher exceeds deposit"
    assert convert(s, uint256) <= SECP256K1N_HALF, "bad signature"
    digest: bytes32 = keccak256(concat(b"\x19\x01", self._domainSeparator(), keccak256(abi_encode(VOUCHER_TYPEHASH, channelId, amount))))
    signer: address = ecrecover(digest, v, r, s)
    assert signer == payer and signer != empty(address), "bad signature"
    self.channels[channelId].paid = amount
    send(self.channels[channelId].payee, amount - paid)
    log Redeemed(channelId=channelId, amount=amount - paid, paid=amount)


@external
def startClose(channelId: uint256):
    assert self.channels[channelId].payer == msg.sender, "not the payer"
    assert self.channels[channelId].closesAt == 0, "already closing"
    closesAt: uint256 = block.timestamp + closeWindow
    self.channels[channelId].closesAt = closesAt
    log CloseStarted(channelId=channelId, closesAt=closesAt)


@external
def withdraw(channelId: uint256):
    assert self.channels[channelId].payer == msg.sender, "not the payer"
    closesAt: uint256 = self.channels[channelId].closesAt
    assert closesAt != 0, "not closing"
    assert block.timestamp >= closesAt, "close window open"
    deposit: uint256 = self.channels[channelId].deposit
    paid: uint256 = self.channels[channelId].paid
    assert deposit > paid, "nothing to withdraw"
    # Settled: deposit == paid, so no later voucher can pay anything.
    self.channels[channelId].deposit = paid
    send(msg.sender, deposit - paid)
    log Closed(channelId=channelId, refunded=deposit - paid)
