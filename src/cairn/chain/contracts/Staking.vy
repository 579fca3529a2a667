# pragma version ~=0.4.1
"""
@title Staking
@notice Nodes and validators register, bond stake, unbond after a delay, and can be
        slashed — only by the dispute contract.
@dev The minimum stake per role is the price of a Sybil identity. Unbonding stake
     stays slashable until it is withdrawn. `slasher` is set once by the deployer and
     can never change: that is the seam for the Disputes contract. Stake does not leave
     while the slasher locks it (`lockOf`: a dispute against the node is open, a juror's
     seat is undecided, a juror-pool member, a jailed node), and the unbonding delay
     must exceed the longest dispute (`maxDisputeDuration`), so no dispute opened
     before a withdrawal can be outrun. The asset is native
     ETH; `_pull` and `_push` are the only places that move it, so an ERC-20 variant
     replaces those two functions.
"""

ROLE_NODE: constant(uint8) = 1
ROLE_VALIDATOR: constant(uint8) = 2
MAX_ENDPOINT: constant(uint256) = 256
MAX_MODELS: constant(uint256) = 32

# Disputes.lockOf codes
LOCK_DISPUTED: constant(uint8) = 1
LOCK_JUROR: constant(uint8) = 2
LOCK_POOL: constant(uint8) = 3
LOCK_JAILED: constant(uint8) = 4


interface ISlasher:
    def maxDisputeDuration() -> uint256: view
    def lockOf(who: address) -> uint8: view


struct Participant:
    role: uint8
    endpoint: String[MAX_ENDPOINT]
    models: DynArray[bytes32, MAX_MODELS]
    sealKey: bytes32


event Registered:
    who: indexed(address)
    role: uint8
    endpoint: String[MAX_ENDPOINT]
    models: DynArray[bytes32, MAX_MODELS]
    sealKey: bytes32


event Staked:
    who: indexed(address)
    amount: uint256
    total: uint256


event Unbonding:
    who: indexed(address)
    amount: uint256
    releaseAt: uint256


event Withdrawn:
    who: indexed(address)
    amount: uint256


event Slashed:
    who: indexed(address)
    amount: uint256
    slasher: indexed(address)


event SlasherSet:
    slasher: indexed(address)


admin: public(immutable(address))
minNodeStake: public(immutable(uint256))
minValidatorStake: public(immutable(uint256))
unbondingDelay: public(immutable(uint256))
slasher: public(address)

participants: public(HashMap[address, Participant])
stakeOf: public(HashMap[address, uint256])
unbondingOf: public(HashMap[address, uint256])
releaseAt: public(HashMap[address, uint256])
# When a model id entered a node's registration (first time) and left it (0: still there),
# so Disputes.challengeModel judges a receipt by the registration at its issue time.
modelSince: public(HashMap[address, HashMap[bytes32, uint256]])
modelUntil: public(HashMap[address, HashMap[bytes32, uint256]])


@deploy
def __init__(_minNodeStake: uint256, _minValidatorStake: uint256, _unbondingDelay: uint256):
    admin = msg.sender
    minNodeStake = _minNodeStake
    minValidatorStake = _minValidatorStake
    unbondingDelay = _unbondingDelay


@internal
def _pull(amount: uint256, sent: uint256):
    assert sent == amount, "wrong value"


@internal
def _push(to: address, amount: uint256):
    send(to, amount)


@view
@internal
def _minimum(role: uint8) -> uint256:
    if role == ROLE_NODE:
        return minNodeStake
    return minValidatorStake


@external
def setSlasher(_slasher: address):
    assert msg.sender == admin, "not the admin"
    assert self.slasher == empty(address), "slasher already set"
    assert _slasher != empty(address), "zero slasher"
    assert _slasher.is_contract, "slasher is not a contract"
    assert staticcall ISlasher(_slasher).maxDisputeDuration() < unbondingDelay, "unbonding shorter than a dispute"
    self.slasher = _slasher
    log SlasherSet(slasher=_slasher)


@view
@internal
def _unlocked(who: address):
    if self.slasher == empty(address):
        return
    lock: uint8 = staticcall ISlasher(self.slasher).lockOf(who)
    assert lock != LOCK_DISPUTED, "under dispute"
    assert lock != LOCK_JUROR, "locked by a dispute"
    assert lock != LOCK_POOL, "in the juror pool"
    assert lock != LOCK_JAILED, "jailed"


@external
def register(role: uint8, endpoint: String[MAX_ENDPOINT], models: DynArray[bytes32, MAX_MODELS], sealKey: bytes32):
    assert role == ROLE_NODE or role == ROLE_VALIDATOR, "bad role"
    current: uint8 = self.participants[msg.sender].role
    assert current == 0 or current == role, "role cannot change"
    self._record_models(self.participants[msg.sender].models, models)
    self.participants[msg.sender] = Participant(role=role, endpoint=endpoint, models=models, sealKey=sealKey)
    log Registered(who=msg.sender, role=role, endpoint=endpoint, models=models, sealKey=sealKey)


@internal
def _record_models(old: DynArray[bytes32, MAX_MODELS], new: DynArray[bytes32, MAX_MODELS]):
    # A model dropped closes its interval; one (re-)added opens it, keeping the first start:
    # lenient to the node (a gap between two registrations counts as registered).
    for m: bytes32 in old:
        if m not in new:
            self.modelUntil[msg.sender][m] = block.timestamp
    for m: bytes32 in new:
        if self.modelSince[msg.sender][m] == 0:
            self.modelSince[msg.sender][m] = block.timestamp
        self.modelUntil[msg.sender][m] = 0


@payable
@external
def stake(amount: uint256):
    role: uint8 = self.participants[msg.sender].role
    assert role != 0, "not registered"
    assert amount > 0, "zero amount"
    self._pull(amount, msg.value)
    total: uint256 = self.stakeOf[msg.sender] + amount
    assert total >= self._minimum(role), "below minimum stake"
    self.stakeOf[msg.sender] = total
    log Staked(who=msg.sender, amount=amount, total=total)


@external
def unbond(amount: uint256):
    assert amount > 0, "zero amount"
    bonded: uint256 = self.stakeOf[msg.sender]
    assert amount <= bonded, "exceeds stake"
    self._unlocked(msg.sender)
    rest: uint256 = bonded - amount
    assert rest == 0 or rest >= self._minimum(self.participants[msg.sender].role), "below minimum stake"
    self.stakeOf[msg.sender] = rest
    self.unbondingOf[msg.sender] += amount
    release: uint256 = block.timestamp + unbondingDelay
    # A new unbonding restarts the clock for everything unbonding: simple and never early.
    self.releaseAt[msg.sender] = release
    log Unbonding(who=msg.sender, amount=amount, releaseAt=release)


@external
def withdraw():
    amount: uint256 = self.unbondingOf[msg.sender]
    assert amount > 0, "nothing unbonding"
    assert block.timestamp >= self.releaseAt[msg.sender], "still unbonding"
    self._unlocked(msg.sender)
    self.unbondingOf[msg.sender] = 0
    self._push(msg.sender, amount)
    log Withdrawn(who=msg.sender, amount=amount)


@external
def slash(who: address, amount: uint256) -> uint256:
    """
    @notice Take up to `amount` from `who` (bonded first, then unbonding) and send it
            to the slasher, which rewards the challenger and burns the rest.
    """
    assert msg.sender == self.slasher and msg.sender != empty(address), "not the slasher"
    bonded: uint256 = self.stakeOf[who]
    unbonding: uint256 = self.unbondingOf[who]
    taken: uint256 = min(amount, bonded)
    self.stakeOf[who] = bonded - taken
    rest: uint256 = min(amount - taken, unbonding)
    self.unbondingOf[who] = unbonding - rest
    total: uint256 = taken + rest
    assert total > 0, "nothing to slash"
    self._push(msg.sender, total)
    log Slashed(who=who, amount=total, slasher=msg.sender)
    return total


@view
@external
def isStaked(who: address, role: uint8) -> bool:
    """
    @notice True if `who` is registered in `role` with at least its minimum bonded.
    """
    return self.participants[who].role == role and self.stakeOf[who] >= self._minimum(role) and self.stakeOf[who] > 0
