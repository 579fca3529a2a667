# pragma version ~=0.4.1
"""
@title ValidatorPool
@notice Validators are paid from demand: a fixed share (`SHARE`) of every payment a
        node receives reaches this pool through the node's RevenueSplitter, and each
        epoch's pot is paid out to the staked validators pro rata to the audits they
        recorded in that epoch.
@dev Splitters are EIP-1167 minimal proxies of one implementation, created with
     CREATE2 (EIP-1014) under salt = the node address, so `splitterOf` is a pure
     function of (this pool, the implementation, the node) that clients compute
     offline (cairn.chain.pool.splitter_address).
     An audit (`attest`) counts only from a validator staked in Staking, for a batch
     anchored in ReceiptAnchor, not the validator's own, once per validator and
     batch, and for at most `maxAttesters` validators per batch: a validator cannot
     multiply its pay by attesting one batch many times, and Sybil validators share
     a capped number of seats per batch, each bought with a minimum stake. An
     attestation is a validator's record that it audited; its truth is the dispute
     game's business, not this contract's.
     Epochs are `block.timestamp // epochLength`. After an epoch ends its pot and
     audit counts are fixed, and each validator pulls its share once (`claim`). A pot
     nobody audited is moved to the current epoch by anyone (`rollover`).
     Ledger, exact to the wei: every token received (`received`) is paid out
     (`paid`), owed by some epoch's pot (`unpaid`), or rounding `dust`. A claim is
     rounded down; the remainders are summed per epoch in units of 1/totalAudits
     and every whole token of them moves to `dust`, which joins the next pot funded
     or rolled over. So token.balanceOf(pool) == unpaid + dust and received == paid
     + unpaid + dust at all times (`ledger()`).
"""

from ethereum.ercs import IERC20

interface IStaking:
    def isStaked(who: address, role: uint8) -> bool: view

interface IAnchor:
    def commitmentOf(node: address, batchId: uint256) -> bytes32: view

interface ISplitter:
    def initialize(node: address, pool: address, token: address): nonpayable

# the pool's share of every payment a splitter releases, in basis points (10%)
SHARE: public(constant(uint256)) = 1000
ROLE_VALIDATOR: constant(uint8) = 2
# EIP-1167 as Vyper's create_minimal_proxy_to emits it: loader and forwarder around
# the 20-byte implementation address (the runtime code is EIP-1167's 45 bytes)
PROXY_HEAD: constant(Bytes[19]) = x"602d3d8160093d39f3363d3d373d3d3d363d73"
PROXY_TAIL: constant(Bytes[15]) = x"5af43d82803e903d91602b57fd5bf3"


event SplitterCreated:
    node: indexed(address)
    splitter: address


event Funded:
    funder: indexed(address)
    epoch: indexed(uint256)
    amount: uint256


event Attested:
    validator: indexed(address)
    node: indexed(address)
    batchId: indexed(uint256)
    epoch: uint256


event Claimed:
    validator: indexed(address)
    epoch: indexed(uint256)
    amount: uint256


event RolledOver:
    fromEpoch: indexed(uint256)
    toEpoch: indexed(uint256)
    amount: uint256


event DustRolled:
    epoch: indexed(uint256)
    amount: uint256


token: public(immutable(IERC20))
staking: public(immutable(IStaking))
anchor: public(immutable(IAnchor))
splitterImplementation: public(immutable(address))
epochLength: public(immutable(uint256))
maxAttesters: public(immutable(uint256))
PROXY_CODE_HASH: immutable(bytes32)

pot: public(HashMap[uint256, uint256])  # epoch => tokens for its validators (fixed once it ends)
audits: public(HashMap[uint256, HashMap[address, uint256]])  # epoch => validator => audits
totalAudits: public(HashMap[uint256, uint256])
claimed: public(HashMap[uint256, HashMap[address, bool]])
# epoch => sum of claims' rounding remainders, in units of 1 / totalAudits[epoch]
remainder: public(HashMap[uint256, uint256])
attesters: public(HashMap[address, HashMap[uint256, uint256]])  # node => batch => count
attested: public(HashMap[address, HashMap[uint256, HashMap[address, bool]]])

received: public(uint256)  # every token ever funded
paid: public(uint256)  # every token ever claimed
unpaid: public(uint256)  # the sum over epochs of what their pots still owe
dust: public(uint256)  # whole tokens of rounding, waiting for the next pot


@deploy
def __init__(
    _token: address,
    _staking: address,
    _anchor: address,
    _implementation: address,
    _epochLength: uint256,
    _maxAttesters: uint256,
):
    assert _epochLength > 0, "zero epoch length"
    assert _maxAttesters > 0, "zero max attesters"
    token = IERC20(_token)
    staking = IStaking(_staking)
    anchor = IAnchor(_anchor)
    splitterImplementation = _implementation
    epochLength = _epochLength
    maxAttesters = _maxAttesters
    PROXY_CODE_HASH = keccak256(concat(PROXY_HEAD, convert(_implementation, bytes20), PROXY_TAIL))


# -- splitters ----------------------------------------------------------------------------


@view
@internal
def _splitter_of(node: address) -> address:
    digest: bytes32 = keccak256(
        concat(b"\xff", convert(self, bytes20), convert(node, bytes32), PROXY_CODE_HASH)
    )
    return convert(convert(convert(digest, uint256) & convert(max_value(uint160), uint256), uint160), address)


@view
@external
def splitterOf(node: address) -> address:
    """
    @notice The CREATE2 address of `node`'s splitter, whether or not it is created yet.
    """
    return self._splitter_of(node)


@external
def createSplitter(node: address) -> address:
    """
    @notice Create and initialize `node`'s splitter (anyone; once: later calls return it).
    """
    assert node != empty(address), "zero node"
    splitter: address = self._splitter_of(node)
    if splitter.is_contract:
        return splitter
    created: address = create_minimal_proxy_to(splitterImplementation, salt=convert(node, bytes32))
    extcall ISplitter(created).initialize(node, self, token.address)
    log SplitterCreated(node=node, splitter=created)
    return created


# -- money in -----------------------------------------------------------------------------


@view
@internal
def _epoch() -> uint256:
    return block.timestamp // epochLength


@view
@external
def currentEpoch() -> uint256:
    return self._epoch()


@view
@external
def epochEnd(epoch: uint256) -> uint256:
    """
    @notice The first second after `epoch`: it can be claimed from then on.
    """
    return (epoch + 1) * epochLength


@internal
def _add_to_pot(epoch: uint256, amount: uint256):
    extra: uint256 = self.dust
    if extra > 0:
        self.dust = 0
        log DustRolled(epoch=epoch, amount=extra)
    self.pot[epoch] += amount + extra
    self.unpaid += amount + extra


@external
def fund(amount: uint256):
    """
    @notice Pull `amount` of the token from the caller (approve first) into this epoch's pot.
    """
    assert amount > 0, "zero amount"
    assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True), "transfer failed"
    epoch: uint256 = self._epoch()
    self.received += amount
    self._add_to_pot(epoch, amount)
    log Funded(funder=msg.sender, epoch=epoch, amount=amount)


# -- audits -------------------------------------------------------------------------------


@external
def attest(node: address, batchId: uint256):
    """
    @notice Record that the caller, a staked validator, audited `node`'s batch `batchId`.
    """
    assert staticcall staking.isStaked(msg.sender, ROLE_VALIDATOR), "not a staked validator"
    assert msg.sender != node, "own batch"
    assert staticcall anchor.commitmentOf(node, batchId) != empty(bytes32), "batch not anchored"
    assert not self.attested[node][batchId][msg.sender], "already attested"
    count: uint256 = self.attesters[node][batchId]
    assert count < maxAttesters, "attesters full"
    self.attested[node][batchId][msg.sender] = True
    self.attesters[node][batchId] = count + 1
    epoch: uint256 = self._epoch()
    self.audits[epoch][msg.sender] += 1
    self.totalAudits[epoch] += 1
    log Attested(validator=msg.sender, node=node, batchId=batchId, epoch=epoch)


# -- money out ----------------------------------------------------------------------------


@view
@internal
def _share(epoch: uint256, done: uint256) -> (uint256, uint256):
    # floor(pot * done / total) and its remainder, without overflowing pot * done
    total: uint256 = self.totalAudits[epoch]
    whole: uint256 = self.pot[epoch]
    part: uint256 = whole % total * done
    return whole // total * done + part // total, part % total


@view
@external
def claimable(epoch: uint256, validator: address) -> uint256:
    """
    @notice What `validator` may claim for `epoch` now (zero if unended, claimed or idle).
    """
    done: uint256 = self.audits[epoch][validator]
    if epoch >= self._epoch() or done == 0 or self.claimed[epoch][validator]:
        return 0
    return self._share(epoch, done)[0]


@external
def claim(epoch: uint256) -> uint256:
    """
    @notice Pay the caller its share of ended `epoch`'s pot: pot * its audits / all audits.
    """
    assert epoch < self._epoch(), "epoch not over"
    done: uint256 = self.audits[epoch][msg.sender]
    assert done > 0, "no audits"
    assert not self.claimed[epoch][msg.sender], "already claimed"
    self.claimed[epoch][msg.sender] = True
    amount: uint256 = 0
    rest: uint256 = 0
    amount, rest = self._share(epoch, done)
    total: uint256 = self.totalAudits[epoch]
    rest += self.remainder[epoch]
    dust_made: uint256 = rest // total  # whole tokens the remainders add up to
    self.remainder[epoch] = rest % total
    self.dust += dust_made
    self.unpaid -= amount + dust_made
    self.paid += amount
    if amount > 0:
        assert extcall token.transfer(msg.sender, amount, default_return_value=True), "transfer failed"
    log Claimed(validator=msg.sender, epoch=epoch, amount=amount)
    return amount


@external
def rollover(epoch: uint256) -> uint256:
    """
    @notice Move the pot of an ended epoch nobody audited into the current epoch (anyone).
    """
    current: uint256 = self._epoch()
    assert epoch < current, "epoch not over"
    assert self.totalAudits[epoch] == 0, "epoch has audits"
    amount: uint256 = self.pot[epoch]
    assert amount > 0, "empty pot"
    self.pot[epoch] = 0
    self.unpaid -= amount
    self._add_to_pot(current, amount)
    log RolledOver(fromEpoch=epoch, toEpoch=current, amount=amount)
    return amount


@view
@external
def ledger() -> (uint256, uint256, uint256, uint256):
    """
    @notice (received, paid, unpaid, dust): received == paid + unpaid + dust, and the
            pool's token balance is unpaid + dust, to the wei.
    """
    return self.received, self.paid, self.unpaid, self.dust
