# pragma version ~=0.4.1
"""
@title Disputes
@notice A staked validator challenges one anchored receipt; a committee of staked
        validators, drawn from a block hash, votes with commit-reveal; the loser pays.
@dev The only contract Staking lets slash. Evidence is checked here, not trusted: the
     receipt's EIP-712 digest is rebuilt under the ReceiptAnchor domain (EIP-712,
     "Definition of hashStruct" and "domainSeparator"), the node's signature is
     recovered with ecrecover, and the inclusion proof is walked to the root the node
     anchored (leaf = keccak(0x00 || digest), inner = keccak(0x01 || min || max): the
     rules of cairn.receipts.merkle). The committee is drawn from the hash of the block
     that mined the dispute, which the challenger cannot know when it signs.
     Outcomes: GUILTY (majority of the revealed votes) slashes the node by `slashBps`
     of everything it has bonded or unbonding, pays `rewardBps` of that to the
     challenger, burns the rest (sent to 0x…dEaD), jails the node and returns the bond; CLEARED (tie or
     majority innocent) burns the bond; VOID (fewer reveals than a majority of the
     committee: the committee did not vote) returns the bond and allows a new dispute.
     Jurors who do not reveal, or vote against the majority, lose `jurorPenalty` of
     stake (burned). A node that does not answer is judged by the jurors, each of
     whom asks it for the input themselves. Network audit parameters (rate, first
     receipts audited in full) live here so every validator reads the same ones.
"""

interface IStaking:
    def isStaked(who: address, role: uint8) -> bool: view
    def stakeOf(who: address) -> uint256: view
    def unbondingOf(who: address) -> uint256: view
    def slash(who: address, amount: uint256) -> uint256: nonpayable

interface IAnchor:
    def rootOf(node: address, batchId: uint256) -> bytes32: view

ROLE_VALIDATOR: constant(uint8) = 2
MAX_POOL: constant(uint256) = 64
MAX_COMMITTEE: constant(uint256) = 15
MAX_PROOF: constant(uint256) = 32
MAX_MODEL: constant(uint256) = 128
MAX_RUNTIME: constant(uint256) = 512
BPS: constant(uint256) = 10000
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
    openedBlock: uint256
    commitDeadline: uint256
    revealDeadline: uint256
    committee: DynArray[address, MAX_COMMITTEE]
    guilty: uint256
    innocent: uint256


event Joined:
    juror: indexed(address)


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
    guilty: bool


event Resolved:
    id: indexed(uint256)
    node: indexed(address)
    outcome: uint8
    slashed: uint256
    reward: uint256
    burned: uint256


event JurorPenalized:
    id: indexed(uint256)
    juror: indexed(address)
    amount: uint256


staking: public(immutable(IStaking))
anchor: public(immutable(IAnchor))
domainSeparator: public(immutable(bytes32))
challengeBond: public(immutable(uint256))
slashBps: public(immutable(uint256))
rewardBps: public(immutable(uint256))
jailPeriod: public(immutable(uint256))
committeeSize: public(immutable(uint256))
commitWindow: public(immutable(uint256))
revealWindow: public(immutable(uint256))
jurorPenalty: public(immutable(uint256))
auditRatePpm: public(immutable(uint256))
fullAuditReceipts: public(immutable(uint256))

pool: public(DynArray[address, MAX_POOL])
inPool: public(HashMap[address, bool])
disputeCount: public(uint256)
disputes: HashMap[uint256, Dispute]
commitOf: public(HashMap[uint256, HashMap[address, bytes32]])
voteOf: public(HashMap[uint256, HashMap[address, uint8]])
activeDispute: public(HashMap[bytes32, uint256])
verdictOf: public(HashMap[bytes32, uint8])
jailedUntil: public(HashMap[address, uint256])


@deploy
def __init__(
    _staking: address,
    _anchor: address,
    _challengeBond: uint256,
    _slashBps: uint256,
    _rewardBps: uint256,
    _jailPeriod: uint256,
    _committeeSize: uint256,
    _commitWindow: uint256,
    _revealWindow: uint256,
    _jurorPenalty: uint256,
    _auditRatePpm: uint256,
    _fullAuditReceipts: uint256,
):
    assert _slashBps <= BPS and _rewardBps <= BPS, "bps over 10000"
    assert _committeeSize > 0 and _committeeSize <= MAX_COMMITTEE, "bad committee size"
    assert _auditRatePpm <= 1000000, "rate over 1"
    staking = IStaking(_staking)
    anchor = IAnchor(_anchor)
    domainSeparator = keccak256(abi_encode(DOMAIN_TYPEHASH, keccak256("Cairn"), keccak256("1"), chain.id, _anchor))
    challengeBond = _challengeBond
    slashBps = _slashBps
    rewardBps = _rewardBps
    jailPeriod = _jailPeriod
    committeeSize = _committeeSize
    commitWindow = _commitWindow
    revealWindow = _revealWindow
    jurorPenalty = _jurorPenalty
    auditRatePpm = _auditRatePpm
    fullAuditReceipts = _fullAuditReceipts


@payable
@external
def __default__():
    # Staking.slash pays the slashed stake here; nothing else may send plain ETH.
    assert msg.sender == staking.address, "only staking pays in"


@view
@internal
def _digest(r: Receipt) -> bytes32:
    struct_hash: bytes32 = keccak256(abi_encode(
        RECEIPT_TYPEHASH, keccak256(r.model), r.inputHash, r.outputHash, r.node,
        r.requestId, r.issuedAt, keccak256(r.runtime), r.price))
    return keccak256(concat(b"\x19\x01", domainSeparator, struct_hash))


@pure
@internal
def _root(digest: bytes32, proof: DynArray[bytes32, MAX_PROOF]) -> bytes32:
    node: bytes32 = keccak256(concat(b"\x00", digest))
    for sibling: bytes32 in proof:
        if convert(node, uint256) < convert(sibling, uint256):
            node = keccak256(concat(b"\x01", node, sibling))
        else:
            node = keccak256(concat(b"\x01", sibling, node))
    return node


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
def receiptDigest(r: Receipt) -> bytes32:
    """
    @notice The EIP-712 digest a node signs for `r` on this network.
    """
    return self._digest(r)


@external
def join():
    """
    @notice Enter the juror pool (a staked validator; once).
    """
    assert staticcall staking.isStaked(msg.sender, ROLE_VALIDATOR), "not a staked validator"
    assert not self.inPool[msg.sender], "already in the pool"
    self.pool.append(msg.sender)
    self.inPool[msg.sender] = True
    log Joined(juror=msg.sender)


@payable
@external
def open(
    receipt: Receipt,
    signature: Bytes[65],
    batchId: uint256,
    proof: DynArray[bytes32, MAX_PROOF],
    challengerOutput: bytes32,
    kind: uint8,
) -> uint256:
    """
    @notice Challenge an anchored receipt. `challengerOutput` is the hash of the output
            the challenger computed (zero if the node would not hand over the input).
    """
    assert staticcall staking.isStaked(msg.sender, ROLE_VALIDATOR), "not a staked validator"
    assert msg.value == challengeBond, "wrong bond"
    assert kind == KIND_WRONG_OUTPUT or kind == KIND_NO_INPUT, "bad kind"
    assert receipt.node != msg.sender, "cannot challenge yourself"
    if kind == KIND_WRONG_OUTPUT:
        assert challengerOutput != receipt.outputHash, "outputs agree"
    digest: bytes32 = self._digest(receipt)
    signer: address = self._signer(digest, signature)
    assert signer != empty(address) and signer == receipt.node, "bad node signature"
    root: bytes32 = staticcall anchor.rootOf(receipt.node, batchId)
    assert root != empty(bytes32), "batch not anchored"
    assert self._root(digest, proof) == root, "not in the anchored batch"
    assert self.activeDispute[digest] == 0, "receipt already disputed"
    assert self.verdictOf[digest] == 0, "receipt already judged"
    id: uint256 = self.disputeCount + 1
    self.disputeCount = id
    self.activeDispute[digest] = id
    self.disputes[id] = Dispute(
        node=receipt.node, challenger=msg.sender, digest=digest, kind=kind, status=OPEN,
        bond=msg.value, openedBlock=block.number, commitDeadline=0, revealDeadline=0,
        committee=[], guilty=0, innocent=0)
    log DisputeOpened(id=id, node=receipt.node, challenger=msg.sender, kind=kind, batchId=batchId,
                      digest=digest, challengerOutput=challengerOutput, bond=msg.value, receipt=receipt)
    return id


@external
def draw(id: uint256):
    """
    @notice Draw the committee from the hash of the dispute's block (anyone, once,
            from the next block on). After 256 blocks that hash is gone: re-arm.
    """
    d: Dispute = self.disputes[id]
    assert d.status == OPEN, "not open"
    assert d.commitDeadline == 0, "already drawn"
    assert block.number > d.openedBlock, "wait one block"
    if block.number - d.openedBlock > 256:
        self.disputes[id].openedBlock = block.number
        return
    seed: bytes32 = keccak256(abi_encode(blockhash(d.openedBlock), id))
    candidates: DynArray[address, MAX_POOL] = []
    for j: address in self.pool:
        if j != d.challenger and j != d.node and staticcall staking.isStaked(j, ROLE_VALIDATOR):
            candidates.append(j)
    n: uint256 = len(candidates)
    k: uint256 = min(committeeSize, n)
    committee: DynArray[address, MAX_COMMITTEE] = []
    for i: uint256 in range(k, bound=MAX_COMMITTEE):
        pick: uint256 = i + convert(keccak256(abi_encode(seed, i)), uint256) % (n - i)
        chosen: address = candidates[pick]
        candidates[pick] = candidates[i]
        candidates[i] = chosen
        committee.append(chosen)
    commit_deadline: uint256 = block.timestamp + commitWindow
    reveal_deadline: uint256 = commit_deadline + revealWindow
    self.disputes[id].committee = committee
    self.disputes[id].commitDeadline = commit_deadline
    self.disputes[id].revealDeadline = reveal_deadline
    log CommitteeDrawn(id=id, committee=committee, commitDeadline=commit_deadline,
                       revealDeadline=reveal_deadline)


@view
@internal
def _isJuror(d: Dispute, who: address) -> bool:
    for j: address in d.committee:
        if j == who:
            return True
    return False


@external
def commit(id: uint256, commitment: bytes32):
    """
    @notice A juror's sealed vote: keccak256(abi.encode(id, juror, guilty, salt)).
    """
    d: Dispute = self.disputes[id]
    assert d.status == OPEN and d.commitDeadline != 0, "not in voting"
    assert block.timestamp <= d.commitDeadline, "commit window closed"
    assert self._isJuror(d, msg.sender), "not on the committee"
    assert self.commitOf[id][msg.sender] == empty(bytes32), "already committed"
    assert commitment != empty(bytes32), "empty commitment"
    self.commitOf[id][msg.sender] = commitment
    log Committed(id=id, juror=msg.sender)


@external
def reveal(id: uint256, guilty: bool, salt: bytes32):
    d: Dispute = self.disputes[id]
    assert d.status == OPEN and d.commitDeadline != 0, "not in voting"
    assert block.timestamp > d.commitDeadline, "commit window still open"
    assert block.timestamp <= d.revealDeadline, "reveal window closed"
    assert self.voteOf[id][msg.sender] == 0, "already revealed"
    expected: bytes32 = keccak256(abi_encode(id, msg.sender, guilty, salt))
    assert self.commitOf[id][msg.sender] == expected, "does not match the commitment"
    if guilty:
        self.voteOf[id][msg.sender] = VOTE_GUILTY
        self.disputes[id].guilty = d.guilty + 1
    else:
        self.voteOf[id][msg.sender] = VOTE_INNOCENT
        self.disputes[id].innocent = d.innocent + 1
    log Revealed(id=id, juror=msg.sender, guilty=guilty)


@internal
def _take(who: address, amount: uint256) -> uint256:
    available: uint256 = staticcall staking.stakeOf(who) + staticcall staking.unbondingOf(who)
    if min(amount, available) == 0:
        return 0
    return extcall staking.slash(who, amount)


@internal
def _penalize(id: uint256, d: Dispute, winning: uint8) -> uint256:
    burned: uint256 = 0
    for j: address in d.committee:
        vote: uint8 = self.voteOf[id][j]
        if vote == 0 or (winning != 0 and vote != winning):
            taken: uint256 = self._take(j, jurorPenalty)
            if taken > 0:
                burned += taken
                log JurorPenalized(id=id, juror=j, amount=taken)
    return burned


@nonreentrant
@external
def resolve(id: uint256) -> uint8:
    """
    @notice Settle a dispute after its reveal window (anyone). Returns the outcome.
    """
    d: Dispute = self.disputes[id]
    assert d.status == OPEN and d.commitDeadline != 0, "not in voting"
    assert block.timestamp > d.revealDeadline, "reveal window still open"
    quorum: uint256 = len(d.committee) // 2 + 1
    outcome: uint8 = VOID
    if d.guilty + d.innocent >= quorum:
        outcome = CLEARED
        if d.guilty > d.innocent:
            outcome = GUILTY
    self.disputes[id].status = outcome
    self.activeDispute[d.digest] = 0
    winning: uint8 = 0
    slashed: uint256 = 0
    reward: uint256 = 0
    burned: uint256 = 0
    if outcome == GUILTY:
        winning = VOTE_GUILTY
        self.verdictOf[d.digest] = GUILTY
        self.jailedUntil[d.node] = max(self.jailedUntil[d.node], block.timestamp + jailPeriod)
        owed: uint256 = (staticcall staking.stakeOf(d.node) + staticcall staking.unbondingOf(d.node)) * slashBps // BPS
        slashed = self._take(d.node, owed)
        reward = slashed * rewardBps // BPS
        burned = slashed - reward
    elif outcome == CLEARED:
        winning = VOTE_INNOCENT
        self.verdictOf[d.digest] = CLEARED
        burned = d.bond
    burned += self._penalize(id, d, winning)
    if outcome != CLEARED:
        send(d.challenger, d.bond + reward)
    if burned > 0:
        send(BURN, burned)
    log Resolved(id=id, node=d.node, outcome=outcome, slashed=slashed, reward=reward, burned=burned)
    return outcome


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
def poolSize() -> uint256:
    return len(self.pool)
