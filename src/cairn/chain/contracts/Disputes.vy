# pragma version ~=0.4.1
"""
@title Disputes
@notice A staked validator challenges one anchored receipt inside its audit window; a
        committee of staked validators, drawn by stake from a block hash, votes with
        commit-reveal; the loser pays, and every payout is pulled with `claim`.
@dev The only contract Staking lets slash. Evidence is checked here, not trusted: the
     receipt's EIP-712 digest is rebuilt under the ReceiptAnchor domain (EIP-712,
     "Definition of hashStruct" and "domainSeparator"), the node's signature is
     recovered with ecrecover, and the positional inclusion proof of leaf `index` of a
     batch of `count` is walked to the commitment the node anchored (`_commits`: leaf =
     keccak(0x00 || digest), inner = keccak(0x01 || left || right) with the index's bits
     choosing the side, an odd level padded with a zero word, exactly ceil(log2(count))
     siblings, commitment = ReceiptAnchor.commitmentFor(root, count), index < count <=
     2^20: the rules of cairn.receipts.merkle).
     The committee: `committeeSize` seats, each drawn by stake with replacement from the
     pool members that counted at the seed block (joined at least `activationBlocks`
     before it, not yet gone), seeded by the hash of that block, which nobody knows
     when the candidates are fixed. A member's weight is its stake when it joined. While
     a draw is pending nobody can leave the pool, so the candidates cannot be steered
     after the seed is known. A juror holding several seats votes with each.
     Votes: GUILTY, INNOCENT or ABSTAIN (a juror that could not judge). Abstentions
     never count as guilty and are not penalized; the quorum counts guilty + innocent
     seats. Outcomes: GUILTY slashes the node by `slashBps` of everything it has bonded
     or unbonding and jails it; the challenger gets its bond back plus `rewardBps` of
     the slash (at most `maxRewardBonds` bonds); `jurorRewardBps` of the slash (at most one
     `jurorPenalty` per seat) is shared
     by the seats that voted guilty; the rest is burned. CLEARED (a tie or majority
     innocent): `jurorRewardBps` of the bond is shared by the seats that voted
     innocent, the rest of the bond is burned. VOID (no quorum, or nobody drew the
     committee in time): the bond is returned, nobody is slashed, the receipt may be
     disputed again. A seat that did not reveal, or voted against the outcome, loses
     `jurorPenalty` of stake (burned). Nothing is sent inside `resolve` but burns to
     0x…dEaD: the challenger and jurors are credited and withdraw with `claim`, so an
     address that refuses ETH cannot block a verdict.
     Staking reads `lockOf` and refuses to release stake under dispute, of a drawn
     juror, of a pool member, or of a jailed node; it requires an unbonding delay
     longer than `maxDisputeDuration`. This contract is the verdict book for the
     objective challenges too (contracts/Challenges.vy): they lock, credit and convict
     through its hooks, which only the Challenges contract it names may call.
"""

interface IStaking:
    def isStaked(who: address, role: uint8) -> bool: view
    def stakeOf(who: address) -> uint256: view
    def unbondingOf(who: address) -> uint256: view
    def minValidatorStake() -> uint256: view
    def slash(who: address, amount: uint256) -> uint256: nonpayable
    def modelSince(who: address, model: bytes32) -> uint256: view
    def modelUntil(who: address, model: bytes32) -> uint256: view

interface IAnchor:
    def commitmentOf(node: address, batchId: uint256) -> bytes32: view
    def commitmentFor(root: bytes32, count: uint256) -> bytes32: view

ROLE_VALIDATOR: constant(uint8) = 2
MAX_COMMITTEE: constant(uint256) = 15
# Loops over the pool are bounded by gas, not by a cap that cheap identities could fill.
MAX_ITER: constant(uint256) = 2**32
MAX_PROOF: constant(uint256) = 32
# A batch holds at most 2^20 receipts (ReceiptAnchor's cap), so a proof has <= 20 levels.
MAX_COUNT: constant(uint256) = 2**20
MAX_DEPTH: constant(uint256) = 20
MAX_MODEL: constant(uint256) = 128
MAX_RUNTIME: constant(uint256) = 512
BPS: constant(uint256) = 10000
# blockhash() reaches 256 blocks back: the seed must be read within them.
SEED_BLOCKS: constant(uint256) = 256
# How far in the future a receipt's issuedAt may be (clock skew between node and chain).
MAX_SKEW: constant(uint256) = 300
# Burned ETH goes where no key can spend it (not 0x0, which some chains use as coinbase).
BURN: constant(address) = 0x000000000000000000000000000000000000dEaD

KIND_WRONG_OUTPUT: constant(uint8) = 1
KIND_NO_INPUT: constant(uint8) = 2

OPEN: constant(uint8) = 1
GUILTY: constant(uint8) = 2
CLEARED: constant(uint8) = 3
VOID: constant(uint8) = 4

VOTE_GUILTY: constant(uint8) = 1
VOTE_INNOCENT: constant(uint8) = 2
VOTE_ABSTAIN: constant(uint8) = 3

LOCK_NONE: constant(uint8) = 0
LOCK_DISPUTED: constant(uint8) = 1
LOCK_JUROR: constant(uint8) = 2
LOCK_POOL: constant(uint8) = 3
LOCK_JAILED: constant(uint8) = 4

RECEIPT_TYPEHASH: constant(bytes32) = keccak256("Receipt(bytes model,bytes32 inputHash,bytes32 outputHash,address node,bytes32 requestId,uint64 issuedAt,string runtime,uint256 price)")
DOMAIN_TYPEHASH: constant(bytes32) = keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


struct Receipt:
    model: Bytes[MAX_MODEL]
    inputHash: bytes32
    outputHash: bytes32
    node: address
    requestId: bytes32
    issuedAt: uint64
    runtime: String[MAX_RUNTIME]
    price: uint256


struct Dispute:
    node: address
    challenger: address
    digest: bytes32
    kind: uint8
    status: uint8
    bond: uint256
    openedBlock: uint256  # the seed block (moves forward if the draw missed it)
    snapshotAt: uint256  # that block's time: who counted as a candidate
    drawDeadline: uint256
    commitDeadline: uint256
    revealDeadline: uint256
    committee: DynArray[address, MAX_COMMITTEE]  # one entry per seat
    guilty: uint256
    innocent: uint256


struct Member:
    weight: uint256  # stake when it joined
    activeFrom: uint256  # first block at which it counts
    leaveAt: uint256  # 0 = staying; else it counts for disputes seeded before this time
    index: uint256  # position in the pool + 1; 0 = not a member


event Joined:
    juror: indexed(address)
    weight: uint256
    activeFrom: uint256


event Leaving:
    juror: indexed(address)
    leaveAt: uint256


event Left:
    juror: indexed(address)
    pruned: bool


event DisputeOpened:
    id: indexed(uint256)
    node: indexed(address)
    challenger: indexed(address)
    kind: uint8
    batchId: uint256
    digest: bytes32
    challengerOutput: bytes32
    bond: uint256
    receipt: Receipt


event CommitteeDrawn:
    id: indexed(uint256)
    committee: DynArray[address, MAX_COMMITTEE]
    commitDeadline: uint256
    revealDeadline: uint256


event Committed:
    id: indexed(uint256)
    juror: indexed(address)


event Revealed:
    id: indexed(uint256)
    juror: indexed(address)
    vote: uint8


event Resolved:
    id: indexed(uint256)
    node: indexed(address)
    outcome: uint8
    slashed: uint256
    reward: uint256
    jurorRewards: uint256
    burned: uint256


event JurorPenalized:
    id: indexed(uint256)
    juror: indexed(address)
    amount: uint256


event JurorRewarded:
    id: indexed(uint256)
    juror: indexed(address)
    amount: uint256


event Claimed:
    who: indexed(address)
    amount: uint256


staking: public(immutable(IStaking))
anchor: public(immutable(IAnchor))
domainSeparator: public(immutable(bytes32))
challengeBond: public(immutable(uint256))
slashBps: public(immutable(uint256))
rewardBps: public(immutable(uint256))
maxRewardBonds: public(immutable(uint256))
jurorRewardBps: public(immutable(uint256))
jailPeriod: public(immutable(uint256))
committeeSize: public(immutable(uint256))
drawWindow: public(immutable(uint256))
commitWindow: public(immutable(uint256))
revealWindow: public(immutable(uint256))
jurorPenalty: public(immutable(uint256))
auditRatePpm: public(immutable(uint256))
fullAuditReceipts: public(immutable(uint256))
auditWindow: public(immutable(uint256))
activationBlocks: public(immutable(uint256))
leaveDelay: public(immutable(uint256))
responseWindow: public(immutable(uint256))  # objective challenges: the node's time to answer
deployer: immutable(address)

members: public(HashMap[address, Member])
poolAt: public(HashMap[uint256, address])
poolSize: public(uint256)
undrawn: public(uint256)  # open disputes whose committee is not drawn yet
disputeCount: public(uint256)
disputes: HashMap[uint256, Dispute]
commitOf: public(HashMap[uint256, HashMap[address, bytes32]])
voteOf: public(HashMap[uint256, HashMap[address, uint8]])
activeDispute: public(HashMap[bytes32, uint256])
verdictOf: public(HashMap[bytes32, uint8])
jailedUntil: public(HashMap[address, uint256])
openDisputes: public(HashMap[address, uint256])  # open disputes against a node
jurorDuties: public(HashMap[address, uint256])  # seats held on undecided disputes
claimable: public(HashMap[address, uint256])


@deploy
def __init__(
    _staking: address,
    _anchor: address,
    _challengeBond: uint256,
    _slashBps: uint256,
    _rewardBps: uint256,
    _maxRewardBonds: uint256,
    _jurorRewardBps: uint256,
    _jailPeriod: uint256,
    _committeeSize: uint256,
    _drawWindow: uint256,
    _commitWindow: uint256,
    _revealWindow: uint256,
    _jurorPenalty: uint256,
    _auditRatePpm: uint256,
    _fullAuditReceipts: uint256,
    _auditWindow: uint256,
    _activationBlocks: uint256,
    _leaveDelay: uint256,
    _responseWindow: uint256,
):
    assert _slashBps <= BPS and _rewardBps + _jurorRewardBps <= BPS, "bps over 10000"
    assert _committeeSize > 0 and _committeeSize <= MAX_COMMITTEE, "bad committee size"
    assert _auditRatePpm <= 1000000, "rate over 1"
    assert _activationBlocks > SEED_BLOCKS, "activation shorter than the seed window"
    assert _leaveDelay > _drawWindow + _commitWindow + _revealWindow, "leave delay shorter than a dispute"
    staking = IStaking(_staking)
    anchor = IAnchor(_anchor)
    domainSeparator = keccak256(abi_encode(DOMAIN_TYPEHASH, keccak256("Cairn"), keccak256("1"), chain.id, _anchor))
    challengeBond = _challengeBond
    slashBps = _slashBps
    rewardBps = _rewardBps
    maxRewardBonds = _maxRewardBonds
    jurorRewardBps = _jurorRewardBps
    jailPeriod = _jailPeriod
    committeeSize = _committeeSize
    drawWindow = _drawWindow
    commitWindow = _commitWindow
    revealWindow = _revealWindow
    jurorPenalty = _jurorPenalty
    auditRatePpm = _auditRatePpm
    fullAuditReceipts = _fullAuditReceipts
    auditWindow = _auditWindow
    activationBlocks = _activationBlocks
    leaveDelay = _leaveDelay
    responseWindow = _responseWindow
    deployer = msg.sender


@payable
@external
def __default__():
    # Staking.slash pays the slashed stake here; nothing else may send plain ETH.
    assert msg.sender == staking.address, "only staking pays in"


# -- evidence ------------------------------------------------------------------------


@view
@internal
def _digest(r: Receipt) -> bytes32:
    struct_hash: bytes32 = keccak256(abi_encode(
        RECEIPT_TYPEHASH, keccak256(r.model), r.inputHash, r.outputHash, r.node,
        r.requestId, r.issuedAt, keccak256(r.runtime), r.price))
    return keccak256(concat(b"\x19\x01", domainSeparator, struct_hash))


@view
@internal
def _commits(digest: bytes32, index: uint256, count: uint256,
             proof: DynArray[bytes32, MAX_PROOF]) -> bytes32:
    """The batch commitment a proof of leaf `index` of `count` leads to; zero if the proof
    has not the shape of that leaf (index >= count, count over the cap, wrong length)."""
    if index >= count or count > MAX_COUNT:
        return empty(bytes32)
    depth: uint256 = 0
    for d: uint256 in range(MAX_DEPTH):
        if (1 << depth) >= count:
            break
        depth += 1
    if len(proof) != depth:
        return empty(bytes32)
    node: bytes32 = keccak256(concat(b"\x00", digest))
    i: uint256 = index
    for sibling: bytes32 in proof:
        if i % 2 == 0:
            node = keccak256(concat(b"\x01", node, sibling))
        else:
            node = keccak256(concat(b"\x01", sibling, node))
        i = i >> 1
    return staticcall anchor.commitmentFor(node, count)


@view
@internal
def _signer(digest: bytes32, signature: Bytes[65]) -> address:
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if v < 27:
        v += 27
    return ecrecover(digest, v, r, s)


@view
@external
def batchCommitment(digest: bytes32, index: uint256, count: uint256,
                    proof: DynArray[bytes32, MAX_PROOF]) -> bytes32:
    """
    @notice The anchored commitment under which `proof` shows `digest` as leaf `index` of
            a batch of `count` (zero if the proof cannot be one).
    """
    return self._commits(digest, index, count, proof)


@view
@external
def receiptDigest(r: Receipt) -> bytes32:
    """
    @notice The EIP-712 digest a node signs for `r` on this network.
    """
    return self._digest(r)


# -- the juror pool --------------------------------------------------------------------


@external
def join():
    """
    @notice Enter the juror pool (a staked validator). It counts from `activationBlocks`
            blocks on, with its stake now as its weight; its stake is locked while a member.
    """
    assert staticcall staking.isStaked(msg.sender, ROLE_VALIDATOR), "not a staked validator"
    assert self.members[msg.sender].index == 0, "already in the pool"
    n: uint256 = self.poolSize
    weight: uint256 = staticcall staking.stakeOf(msg.sender)
    active: uint256 = block.number + activationBlocks
    self.poolAt[n] = msg.sender
    self.poolSize = n + 1
    self.members[msg.sender] = Member(weight=weight, activeFrom=active, leaveAt=0, index=n + 1)
    log Joined(juror=msg.sender, weight=weight, activeFrom=active)


@external
def leave():
    """
    @notice Ask to leave the pool. The member keeps counting, and its stake stays locked,
            for `leaveDelay` (longer than any dispute); then `exit` removes it.
    """
    assert self.members[msg.sender].index != 0, "not in the pool"
    assert self.members[msg.sender].leaveAt == 0, "already leaving"
    leave_at: uint256 = block.timestamp + leaveDelay
    self.members[msg.sender].leaveAt = leave_at
    log Leaving(juror=msg.sender, leaveAt=leave_at)


@internal
def _remove(who: address, pruned: bool):
    # Removing reorders the pool, which would move a pending draw: none may be pending.
    assert self.undrawn == 0, "a draw is pending"
    i: uint256 = self.members[who].index - 1
    last: uint256 = self.poolSize - 1
    if i != last:
        moved: address = self.poolAt[last]
        self.poolAt[i] = moved
        self.members[moved].index = i + 1
    self.poolAt[last] = empty(address)
    self.poolSize = last
    self.members[who] = empty(Member)
    log Left(juror=who, pruned=pruned)


@external
def exit():
    """
    @notice Leave the pool once the leave delay has passed.
    """
    m: Member = self.members[msg.sender]
    assert m.index != 0, "not in the pool"
    assert m.leaveAt != 0, "not leaving"
    assert block.timestamp >= m.leaveAt, "still leaving"
    self._remove(msg.sender, False)


@external
def prune(member: address):
    """
    @notice Remove a member whose stake fell below the validator minimum (anyone).
    """
    assert self.members[member].index != 0, "not in the pool"
    assert staticcall staking.stakeOf(member) < staticcall staking.minValidatorStake(), "still staked"
    self._remove(member, True)


# -- disputes --------------------------------------------------------------------------


@payable
@external
def open(
    receipt: Receipt,
    signature: Bytes[65],
    batchId: uint256, index: uint256, count: uint256,
    proof: DynArray[bytes32, MAX_PROOF],
    challengerOutput: bytes32,
    kind: uint8,
) -> uint256:
    """
    @notice Challenge an anchored receipt inside its audit window. `challengerOutput` is
            the hash of the output the challenger computed (zero if the node would not
            hand over the input).
    """
    assert staticcall staking.isStaked(msg.sender, ROLE_VALIDATOR), "not a staked validator"
    assert msg.value == challengeBond, "wrong bond"
    assert kind == KIND_WRONG_OUTPUT or kind == KIND_NO_INPUT, "bad kind"
    assert receipt.node != msg.sender, "cannot challenge yourself"
    issued: uint256 = convert(receipt.issuedAt, uint256)
    assert issued <= block.timestamp + MAX_SKEW, "issued in the future"
    assert block.timestamp <= issued + auditWindow, "outside the audit window"
    if kind == KIND_WRONG_OUTPUT:
        assert challengerOutput != receipt.outputHash, "outputs agree"
    digest: bytes32 = self._digest(receipt)
    signer: address = self._signer(digest, signature)
    assert signer != empty(address) and signer == receipt.node, "bad node signature"
    anchored: bytes32 = staticcall anchor.commitmentOf(receipt.node, batchId)
    assert anchored != empty(bytes32), "batch not anchored"
    assert self._commits(digest, index, count, proof) == anchored, "not in the anchored batch"
    assert self.activeDispute[digest] == 0, "receipt already disputed"
    assert self.verdictOf[digest] == 0, "receipt already judged"
    id: uint256 = self.disputeCount + 1
    self.disputeCount = id
    self.activeDispute[digest] = id
    self.openDisputes[receipt.node] += 1
    self.undrawn += 1
    self.disputes[id] = Dispute(
        node=receipt.node, challenger=msg.sender, digest=digest, kind=kind, status=OPEN,
        bond=msg.value, openedBlock=block.number, snapshotAt=block.timestamp,
        drawDeadline=block.timestamp + drawWindow, commitDeadline=0, revealDeadline=0,
        committee=[], guilty=0, innocent=0)
    log DisputeOpened(id=id, node=receipt.node, challenger=msg.sender, kind=kind, batchId=batchId,
                      digest=digest, challengerOutput=challengerOutput, bond=msg.value, receipt=receipt)
    return id


@view
@internal
def _weight(who: address, d: Dispute) -> uint256:
    """A member's weight in a draw: its stake at join if it counted at the seed block."""
    if who == d.challenger or who == d.node:
        return 0
    m: Member = self.members[who]
    if m.activeFrom > d.openedBlock:
        return 0
    if m.leaveAt != 0 and m.leaveAt <= d.snapshotAt:
        return 0
    return m.weight


@external
def draw(id: uint256):
    """
    @notice Draw the committee from the hash of the dispute's seed block (anyone, once,
            from the next block on, within `drawWindow` of opening). After 256 blocks that
            hash is gone: the seed block moves to this one (re-armed; draw again later).
    @dev Gas grows with the pool: two passes over it, no external calls.
    """
    d: Dispute = self.disputes[id]
    assert d.status == OPEN, "not open"
    assert d.commitDeadline == 0, "already drawn"
    assert block.timestamp <= d.drawDeadline, "draw window closed"
    assert block.number > d.openedBlock, "wait one block"
    if block.number - d.openedBlock > SEED_BLOCKS:
        self.disputes[id].openedBlock = block.number
        self.disputes[id].snapshotAt = block.timestamp
        return
    seed: bytes32 = keccak256(abi_encode(blockhash(d.openedBlock), id))
    n: uint256 = self.poolSize
    total: uint256 = 0
    for i: uint256 in range(n, bound=MAX_ITER):
        total += self._weight(self.poolAt[i], d)
    committee: DynArray[address, MAX_COMMITTEE] = []
    if total > 0:
        committee = self._seats(seed, total, d)
    self._seat(id, committee, d)


@view
@internal
def _seats(seed: bytes32, total: uint256, d: Dispute) -> DynArray[address, MAX_COMMITTEE]:
    """Seat s goes to the member whose stake interval holds keccak(seed, s) mod total."""
    k: uint256 = committeeSize
    targets: DynArray[uint256, MAX_COMMITTEE] = []
    order: DynArray[uint256, MAX_COMMITTEE] = []
    for s: uint256 in range(k, bound=MAX_COMMITTEE):
        t: uint256 = convert(keccak256(abi_encode(seed, s)), uint256) % total
        targets.append(t)
        order.append(s)
        # insertion sort of the seats by target (k <= 15)
        for j: uint256 in range(s, bound=MAX_COMMITTEE):
            at: uint256 = s - j
            if targets[at - 1] <= targets[at]:
                break
            swap_t: uint256 = targets[at]
            targets[at] = targets[at - 1]
            targets[at - 1] = swap_t
            swap_o: uint256 = order[at]
            order[at] = order[at - 1]
            order[at - 1] = swap_o
    seats: address[MAX_COMMITTEE] = empty(address[MAX_COMMITTEE])
    acc: uint256 = 0
    filled: uint256 = 0
    for i: uint256 in range(self.poolSize, bound=MAX_ITER):
        who: address = self.poolAt[i]
        acc += self._weight(who, d)
        for x: uint256 in range(MAX_COMMITTEE):
            if filled == k:
                break
            if targets[filled] >= acc:
                break
            seats[order[filled]] = who
            filled += 1
        if filled == k:
            break
    committee: DynArray[address, MAX_COMMITTEE] = []
    for s: uint256 in range(k, bound=MAX_COMMITTEE):
        committee.append(seats[s])
    return committee


@internal
def _seat(id: uint256, committee: DynArray[address, MAX_COMMITTEE], d: Dispute):
    for j: address in committee:
        self.jurorDuties[j] += 1
    commit_deadline: uint256 = block.timestamp + commitWindow
    reveal_deadline: uint256 = commit_deadline + revealWindow
    self.undrawn -= 1
    self.disputes[id].committee = committee
    self.disputes[id].commitDeadline = commit_deadline
    self.disputes[id].revealDeadline = reveal_deadline
    log CommitteeDrawn(id=id, committee=committee, commitDeadline=commit_deadline,
                       revealDeadline=reveal_deadline)


@view
@internal
def _seatsOf(d: Dispute, who: address) -> uint256:
    n: uint256 = 0
    for j: address in d.committee:
        if j == who:
            n += 1
    return n


@external
def commit(id: uint256, commitment: bytes32):
    """
    @notice A juror's sealed vote: keccak256(abi.encode(id, juror, uint8 vote, salt)),
            vote 1 guilty, 2 innocent, 3 abstain.
    """
    d: Dispute = self.disputes[id]
    assert d.status == OPEN and d.commitDeadline != 0, "not in voting"
    assert block.timestamp <= d.commitDeadline, "commit window closed"
    assert self._seatsOf(d, msg.sender) > 0, "not on the committee"
    assert self.commitOf[id][msg.sender] == empty(bytes32), "already committed"
    assert commitment != empty(bytes32), "empty commitment"
    self.commitOf[id][msg.sender] = commitment
    log Committed(id=id, juror=msg.sender)


@external
def reveal(id: uint256, vote: uint8, salt: bytes32):
    """
    @notice Open a sealed vote; it counts once per seat the juror holds.
    """
    d: Dispute = self.disputes[id]
    assert d.status == OPEN and d.commitDeadline != 0, "not in voting"
    assert block.timestamp > d.commitDeadline, "commit window still open"
    assert block.timestamp <= d.revealDeadline, "reveal window closed"
    assert vote >= VOTE_GUILTY and vote <= VOTE_ABSTAIN, "bad vote"
    assert self.voteOf[id][msg.sender] == 0, "already revealed"
    expected: bytes32 = keccak256(abi_encode(id, msg.sender, vote, salt))
    assert self.commitOf[id][msg.sender] == expected, "does not match the commitment"
    self.voteOf[id][msg.sender] = vote
    seats: uint256 = self._seatsOf(d, msg.sender)
    if vote == VOTE_GUILTY:
        self.disputes[id].guilty = d.guilty + seats
    elif vote == VOTE_INNOCENT:
        self.disputes[id].innocent = d.innocent + seats
    log Revealed(id=id, juror=msg.sender, vote=vote)


# -- settling ---------------------------------------------------------------------------


@internal
def _take(who: address, amount: uint256) -> uint256:
    available: uint256 = staticcall staking.stakeOf(who) + staticcall staking.unbondingOf(who)
    if min(amount, available) == 0:
        return 0
    return extcall staking.slash(who, amount)


@internal
def _jurors(id: uint256, d: Dispute, winning: uint8, pot: uint256) -> (uint256, uint256):
    """Penalize absent and losing seats, share `pot` among winning seats; (burned, paid)."""
    burned: uint256 = 0
    paid: uint256 = 0
    winners: uint256 = d.guilty if winning == VOTE_GUILTY else d.innocent
    share: uint256 = 0
    if winning != 0 and winners > 0:
        share = pot // winners
    for j: address in d.committee:
        self.jurorDuties[j] -= 1
        vote: uint8 = self.voteOf[id][j]
        if vote == 0 or (winning != 0 and vote != winning and vote != VOTE_ABSTAIN):
            taken: uint256 = self._take(j, jurorPenalty)
            if taken > 0:
                burned += taken
                log JurorPenalized(id=id, juror=j, amount=taken)
        elif winning != 0 and vote == winning and share > 0:
            self.claimable[j] += share
            paid += share
            log JurorRewarded(id=id, juror=j, amount=share)
    return burned, paid


@view
@internal
def _outcome(d: Dispute) -> uint8:
    if d.commitDeadline == 0:
        assert block.timestamp > d.drawDeadline, "draw window still open"
        return VOID
    assert block.timestamp > d.revealDeadline, "reveal window still open"
    if d.guilty + d.innocent < len(d.committee) // 2 + 1:
        return VOID
    if d.guilty > d.innocent:
        return GUILTY
    return CLEARED


@nonreentrant
@external
def resolve(id: uint256) -> uint8:
    """
    @notice Settle a dispute after its reveal window, or after its draw window if nobody
            drew it (anyone). Sends nothing but burns: payouts are credited to `claimable`.
    """
    d: Dispute = self.disputes[id]
    assert d.status == OPEN, "not open"
    outcome: uint8 = self._outcome(d)
    self.disputes[id].status = outcome
    self.activeDispute[d.digest] = 0
    self.openDisputes[d.node] -= 1
    if d.commitDeadline == 0:
        self.undrawn -= 1
    winning: uint8 = 0
    slashed: uint256 = 0
    reward: uint256 = 0
    pot: uint256 = 0
    refund: uint256 = d.bond
    if outcome == GUILTY:
        winning = VOTE_GUILTY
        self.verdictOf[d.digest] = GUILTY
        self.jailedUntil[d.node] = max(self.jailedUntil[d.node], block.timestamp + jailPeriod)
        owed: uint256 = (staticcall staking.stakeOf(d.node) + staticcall staking.unbondingOf(d.node)) * slashBps // BPS
        slashed = self._take(d.node, owed)
        reward = min(slashed * rewardBps // BPS, maxRewardBonds * d.bond)
        # at most one juror penalty per winning seat: framing a richer node pays no more
        pot = min(slashed * jurorRewardBps // BPS, d.guilty * jurorPenalty)
    elif outcome == CLEARED:
        winning = VOTE_INNOCENT
        self.verdictOf[d.digest] = CLEARED
        pot = d.bond * jurorRewardBps // BPS
        refund = 0
    penalties: uint256 = 0
    paid: uint256 = 0
    penalties, paid = self._jurors(id, d, winning, pot)
    self.claimable[d.challenger] += refund + reward
    burned: uint256 = slashed + d.bond - refund - reward - paid + penalties
    if burned > 0:
        send(BURN, burned)  # the burn address cannot refuse
    log Resolved(id=id, node=d.node, outcome=outcome, slashed=slashed, reward=reward,
                 jurorRewards=paid, burned=burned)
    return outcome


@nonreentrant
@external
def claim() -> uint256:
    """
    @notice Withdraw what resolved disputes credited to the caller (bond, reward, juror pay).
    """
    amount: uint256 = self.claimable[msg.sender]
    assert amount > 0, "nothing to claim"
    self.claimable[msg.sender] = 0
    raw_call(msg.sender, b"", value=amount)
    log Claimed(who=msg.sender, amount=amount)
    return amount


# -- the objective challenges' hooks -------------------------------------------------------
# Guilt the contract decides alone (withheld input, withheld leaf, unanchored receipt,
# unregistered model) is judged by the Challenges contract (contracts/Challenges.vy,
# docs/verification.md, "Objective challenges"); the verdict book stays here: it locks
# the node's stake while a challenge is open, slashes, jails and credits through these
# hooks, which only that contract may call. It is set once, by the deployer.

challenges: public(address)


@view
@internal
def _fromChallenges():
    assert msg.sender == self.challenges and msg.sender != empty(address), "not the challenges contract"


@external
def setChallenges(_challenges: address):
    assert msg.sender == deployer, "not the deployer"
    assert self.challenges == empty(address), "challenges already set"
    assert _challenges.is_contract, "challenges is not a contract"
    self.challenges = _challenges


@external
def hold(node: address):
    """@notice Lock `node`'s stake for an open challenge."""
    self._fromChallenges()
    self.openDisputes[node] += 1


@external
def release(node: address):
    """@notice Unlock what `hold` locked (the challenge ended)."""
    self._fromChallenges()
    self.openDisputes[node] -= 1


@payable
@external
def credit(who: address):
    """@notice Credit `msg.value` (a challenge bond) to `who`, withdrawn with `claim`."""
    self._fromChallenges()
    self.claimable[who] += msg.value


@payable
@nonreentrant
@external
def convict(node: address, challenger: address, key: bytes32) -> (uint256, uint256):
    """
    @notice Slash `node` `slashBps` of everything it has bonded or unbonding, jail it,
            credit the challenger the bond sent (`msg.value`) and a capped reward, burn
            the rest (no jury: nothing for jurors); the receipt `key` is judged GUILTY.
            Returns (slashed, reward).
    """
    self._fromChallenges()
    self.verdictOf[key] = GUILTY
    self.jailedUntil[node] = max(self.jailedUntil[node], block.timestamp + jailPeriod)
    owed: uint256 = (staticcall staking.stakeOf(node) + staticcall staking.unbondingOf(node)) * slashBps // BPS
    slashed: uint256 = self._take(node, owed)
    reward: uint256 = min(slashed * rewardBps // BPS, maxRewardBonds * challengeBond)
    self.claimable[challenger] += msg.value + reward
    if slashed > reward:
        send(BURN, slashed - reward)  # the burn address cannot refuse
    return slashed, reward


@view
@external
def signerOf(digest: bytes32, signature: Bytes[65]) -> address:
    """@notice The address that signed `digest` (zero if none)."""
    return self._signer(digest, signature)

# -- end of the hooks --------------------------------------------------------------------


# -- reads ------------------------------------------------------------------------------


@view
@external
def dispute(id: uint256) -> Dispute:
    return self.disputes[id]


@view
@external
def isJailed(node: address) -> bool:
    return self.jailedUntil[node] > block.timestamp


@view
@external
def inPool(who: address) -> bool:
    return self.members[who].index != 0


@view
@external
def maxDisputeDuration() -> uint256:
    """
    @notice The longest a dispute or challenge can stay open: draw, commit and reveal
            windows, or an objective challenge's response window.
    """
    return max(drawWindow + commitWindow + revealWindow, responseWindow)


@view
@external
def lockOf(who: address) -> uint8:
    """
    @notice Why Staking must not release `who`'s stake now: 0 free, 1 a dispute against it
            is open, 2 it holds a seat on an undecided dispute, 3 it is in the juror pool,
            4 it is jailed.
    """
    if self.openDisputes[who] > 0:
        return LOCK_DISPUTED
    if self.jurorDuties[who] > 0:
        return LOCK_JUROR
    if self.members[who].index != 0:
        return LOCK_POOL
    if self.jailedUntil[who] > block.timestamp:
        return LOCK_JAILED
    return LOCK_NONE
