# pragma version ~=0.4.1
"""
@title Challenges
@notice Objective challenges: guilt the contract decides alone, without a jury. A node
        that withholds what it owes the network (a retained input, a leaf of a batch it
        anchored, the anchoring of a receipt it signed) is obliged to post it onchain
        within `responseWindow`; only silence past that window is guilt. A receipt for a
        model the node had not registered is convicted at once.
@dev Four challenges (docs/verification.md, "Objective challenges"):
     - input (a staked validator, with the bond, inside the receipt's audit window): post
       the bytes whose sha256 is the receipt's inputHash (cairn.receipts.wire);
     - leaf (a staked validator, with the bond, inside the batch's audit window, counted
       from `ReceiptAnchor.anchoredAt`): post the signed receipt at leaf `index` of an
       anchored batch with its inclusion proof; the challenger names the batch's root and
       count (from the `Anchored` event), so only an index the batch has can be asked;
     - anchor (anyone holding a signed receipt, with the bond, after `anchorDeadline`
       and inside the audit window): prove the receipt's inclusion in a batch anchored
       no later than `issuedAt + anchorDeadline` (+ the clock skew allowed);
     - model (a staked validator, no bond): a receipt whose model id (keccak256 of its
       binary CID) the node had not registered in Staking at `issuedAt`.
     An answer ends a challenge and credits the challenger's bond to whoever answered
     (a challenge of something the node holds pays for the node's gas). Anyone resolves
     a challenge past its window: the Disputes contract slashes, jails and credits.
     The verdict book (locks, jail, claims, slashing) is the Disputes contract's, reached
     through its hooks, which only this contract may call; the evidence rules (the
     receipt's EIP-712 digest, the signer, the positional inclusion proof) are its
     views, and the batch commitment is ReceiptAnchor's: nothing is written twice.
"""

interface IStaking:
    def isStaked(who: address, role: uint8) -> bool: view
    def modelSince(who: address, model: bytes32) -> uint256: view
    def modelUntil(who: address, model: bytes32) -> uint256: view

interface IAnchor:
    def commitmentOf(node: address, batchId: uint256) -> bytes32: view
    def commitmentFor(root: bytes32, count: uint256) -> bytes32: view
    def anchoredAt(node: address, batchId: uint256) -> uint256: view

MAX_MODEL: constant(uint256) = 128
MAX_RUNTIME: constant(uint256) = 512
MAX_PROOF: constant(uint256) = 32
# The largest input a node can post (calldata); a node refuses longer inputs.
MAX_INPUT: constant(uint256) = 16384
MAX_SKEW: public(constant(uint256)) = 300  # seconds a node's clock may run ahead (as in Disputes)
ROLE_VALIDATOR: constant(uint8) = 2


struct Receipt:
    model: Bytes[MAX_MODEL]
    inputHash: bytes32
    outputHash: bytes32
    node: address
    requestId: bytes32
    issuedAt: uint64
    runtime: String[MAX_RUNTIME]
    price: uint256


interface IDisputes:
    def staking() -> address: view
    def anchor() -> address: view
    def challengeBond() -> uint256: view
    def auditWindow() -> uint256: view
    def responseWindow() -> uint256: view
    def receiptDigest(r: Receipt) -> bytes32: view
    def batchCommitment(digest: bytes32, index: uint256, count: uint256, proof: DynArray[bytes32, MAX_PROOF]) -> bytes32: view
    def signerOf(digest: bytes32, signature: Bytes[65]) -> address: view
    def verdictOf(key: bytes32) -> uint8: view
    def hold(node: address): nonpayable
    def release(node: address): nonpayable
    def credit(who: address): payable
    def convict(node: address, challenger: address, key: bytes32) -> (uint256, uint256): payable


KIND_WITHHELD_INPUT: constant(uint8) = 3
KIND_UNREGISTERED_MODEL: constant(uint8) = 4
KIND_WITHHELD_LEAF: constant(uint8) = 5
KIND_UNANCHORED: constant(uint8) = 6

CHALLENGE_OPEN: constant(uint8) = 1
CHALLENGE_ANSWERED: constant(uint8) = 2
CHALLENGE_UPHELD: constant(uint8) = 3  # no answer in time: the node was convicted

GUILTY: constant(uint8) = 2  # Disputes' verdict


struct Challenge:
    kind: uint8
    node: address
    challenger: address
    key: bytes32  # input, anchor: the receipt's digest; leaf: keccak256(node, batchId, index)
    inputHash: bytes32  # input
    batchId: uint256  # input: where the receipt is anchored; leaf: the batch asked
    index: uint256  # leaf
    count: uint256  # leaf: the batch's receipt count
    dueBy: uint256  # anchor: the latest anchor time that meets the deadline
    status: uint8
    bond: uint256
    deadline: uint256  # answer at or before it


event Challenged:
    id: indexed(uint256)
    node: indexed(address)
    challenger: indexed(address)
    kind: uint8
    key: bytes32
    requestId: bytes32
    inputHash: bytes32
    batchId: uint256
    index: uint256
    bond: uint256
    deadline: uint256


event InputAnswered:
    id: indexed(uint256)
    node: indexed(address)
    answerer: address
    input: Bytes[MAX_INPUT]


event LeafAnswered:
    id: indexed(uint256)
    node: indexed(address)
    answerer: address
    batchId: uint256
    index: uint256
    count: uint256
    receipt: Receipt
    signature: Bytes[65]
    proof: DynArray[bytes32, MAX_PROOF]  # with the receipt: evidence for a dispute


event AnchorProven:
    id: indexed(uint256)
    node: indexed(address)
    answerer: address
    batchId: uint256
    index: uint256


event Convicted:
    node: indexed(address)
    challenger: indexed(address)
    kind: uint8
    id: uint256  # the challenge's id (0 for a model challenge)
    key: bytes32
    slashed: uint256
    reward: uint256
    burned: uint256


disputes: public(immutable(IDisputes))
staking: public(immutable(IStaking))
anchor: public(immutable(IAnchor))
challengeBond: public(immutable(uint256))
auditWindow: public(immutable(uint256))
responseWindow: public(immutable(uint256))
anchorDeadline: public(immutable(uint256))

challengeCount: public(uint256)
_challenges: HashMap[uint256, Challenge]
active: public(HashMap[uint8, HashMap[bytes32, uint256]])  # kind → key → open challenge id
answered: public(HashMap[uint8, HashMap[bytes32, bool]])  # kind → key → posted onchain


@deploy
def __init__(_disputes: address, _anchorDeadline: uint256):
    disputes = IDisputes(_disputes)
    staking = IStaking(staticcall disputes.staking())
    anchor = IAnchor(staticcall disputes.anchor())
    challengeBond = staticcall disputes.challengeBond()
    auditWindow = staticcall disputes.auditWindow()
    responseWindow = staticcall disputes.responseWindow()
    assert _anchorDeadline + MAX_SKEW < auditWindow, "anchor deadline outside the audit window"
    anchorDeadline = _anchorDeadline


# -- evidence ----------------------------------------------------------------------------


@view
@internal
def _signed(receipt: Receipt, signature: Bytes[65]) -> bytes32:
    """The receipt's digest, signed by its node."""
    digest: bytes32 = staticcall disputes.receiptDigest(receipt)
    signer: address = staticcall disputes.signerOf(digest, signature)
    assert signer != empty(address) and signer == receipt.node, "bad node signature"
    return digest


@view
@internal
def _validator():
    # A staked validator is never the node it challenges: a challenged node has anchored,
    # so it is registered as a node, and Staking never changes a participant's role.
    assert staticcall staking.isStaked(msg.sender, ROLE_VALIDATOR), "not a staked validator"


@view
@internal
def _evidence(receipt: Receipt, signature: Bytes[65], batchId: uint256, index: uint256, count: uint256,
              proof: DynArray[bytes32, MAX_PROOF]) -> bytes32:
    """A staked validator's anchored receipt inside its audit window; its digest."""
    self._validator()
    issued: uint256 = convert(receipt.issuedAt, uint256)
    assert issued <= block.timestamp + MAX_SKEW, "issued in the future"
    assert block.timestamp <= issued + auditWindow, "outside the audit window"
    digest: bytes32 = self._signed(receipt, signature)
    anchored: bytes32 = staticcall anchor.commitmentOf(receipt.node, batchId)
    assert anchored != empty(bytes32), "batch not anchored"
    assert staticcall disputes.batchCommitment(digest, index, count, proof) == anchored, "not in the anchored batch"
    return digest


# -- opening, answering, resolving -------------------------------------------------------


@internal
def _open(kind: uint8, node: address, key: bytes32, requestId: bytes32, inputHash: bytes32,
          batchId: uint256, index: uint256, count: uint256, dueBy: uint256, bond: uint256) -> uint256:
    assert bond == challengeBond, "wrong bond"
    assert staticcall disputes.verdictOf(key) == 0, "already judged"
    assert not self.answered[kind][key], "already answered"
    assert self.active[kind][key] == 0, "already challenged"
    id: uint256 = self.challengeCount + 1
    self.challengeCount = id
    self.active[kind][key] = id
    deadline: uint256 = block.timestamp + responseWindow
    self._challenges[id] = Challenge(
        kind=kind, node=node, challenger=msg.sender, key=key, inputHash=inputHash,
        batchId=batchId, index=index, count=count, dueBy=dueBy, status=CHALLENGE_OPEN,
        bond=bond, deadline=deadline)
    extcall disputes.hold(node)
    log Challenged(id=id, node=node, challenger=msg.sender, kind=kind, key=key, requestId=requestId,
                   inputHash=inputHash, batchId=batchId, index=index, bond=bond, deadline=deadline)
    return id


@view
@internal
def _answerable(id: uint256, kind: uint8) -> Challenge:
    c: Challenge = self._challenges[id]
    assert c.status == CHALLENGE_OPEN, "not open"
    assert c.kind == kind, "another kind of challenge"
    assert block.timestamp <= c.deadline, "response window closed"
    return c


@internal
def _answered(id: uint256, c: Challenge):
    """End an answered challenge: unlock the node, the bond to the answerer."""
    self._challenges[id].status = CHALLENGE_ANSWERED
    self.active[c.kind][c.key] = 0
    self.answered[c.kind][c.key] = True
    extcall disputes.release(c.node)
    extcall disputes.credit(msg.sender, value=c.bond)


@payable
@external
def challengeInput(receipt: Receipt, signature: Bytes[65], batchId: uint256, index: uint256, count: uint256,
                   proof: DynArray[bytes32, MAX_PROOF]) -> uint256:
    """
    @notice Oblige the node to post the receipt's retained input within `responseWindow`
            (a staked validator, with the bond, inside the audit window). The node's
            stake is locked until the challenge ends.
    """
    digest: bytes32 = self._evidence(receipt, signature, batchId, index, count, proof)
    return self._open(KIND_WITHHELD_INPUT, receipt.node, digest, receipt.requestId, receipt.inputHash,
                      batchId, index, count, 0, msg.value)


@external
def answerInput(id: uint256, input: Bytes[MAX_INPUT]):
    """
    @notice Post the input of a challenged receipt (anyone: the data is then available;
            normally the node).
    """
    c: Challenge = self._answerable(id, KIND_WITHHELD_INPUT)
    assert sha256(input) == c.inputHash, "input does not match the receipt"
    self._answered(id, c)
    log InputAnswered(id=id, node=c.node, answerer=msg.sender, input=input)


@payable
@external
def challengeLeaf(node: address, batchId: uint256, index: uint256, root: bytes32, count: uint256) -> uint256:
    """
    @notice Oblige the node to post leaf `index` of its anchored batch `batchId` (the
            signed receipt and its inclusion proof) within `responseWindow`: a staked
            validator, with the bond, while the batch is inside its audit window. `root`
            and `count` are the batch's, from its `Anchored` event.
    """
    self._validator()
    anchoredAt: uint256 = staticcall anchor.anchoredAt(node, batchId)
    assert anchoredAt != 0, "batch not anchored"
    assert block.timestamp <= anchoredAt + auditWindow, "outside the audit window"
    assert staticcall anchor.commitmentFor(root, count) == staticcall anchor.commitmentOf(node, batchId), "not the anchored root and count"
    assert index < count, "no such leaf"
    key: bytes32 = keccak256(abi_encode(node, batchId, index))
    return self._open(KIND_WITHHELD_LEAF, node, key, empty(bytes32), empty(bytes32), batchId, index, count, 0, msg.value)


@external
def answerLeaf(id: uint256, receipt: Receipt, signature: Bytes[65], proof: DynArray[bytes32, MAX_PROOF]):
    """
    @notice Post the challenged leaf: a receipt signed by the node, proven at that index
            of the anchored batch (anyone may; normally the node).
    """
    c: Challenge = self._answerable(id, KIND_WITHHELD_LEAF)
    assert receipt.node == c.node, "another node's receipt"
    digest: bytes32 = self._signed(receipt, signature)
    anchored: bytes32 = staticcall anchor.commitmentOf(c.node, c.batchId)
    assert staticcall disputes.batchCommitment(digest, c.index, c.count, proof) == anchored, "not the challenged leaf"
    self._answered(id, c)
    log LeafAnswered(id=id, node=c.node, answerer=msg.sender, batchId=c.batchId, index=c.index,
                     count=c.count, receipt=receipt, signature=signature, proof=proof)


@payable
@external
def challengeAnchor(receipt: Receipt, signature: Bytes[65]) -> uint256:
    """
    @notice Oblige the node to prove that a receipt it signed was anchored by its
            deadline (`issuedAt + anchorDeadline`): anyone holding the receipt, with the
            bond, after that deadline and inside the audit window.
    """
    assert receipt.node != msg.sender, "cannot challenge yourself"
    digest: bytes32 = self._signed(receipt, signature)
    issued: uint256 = convert(receipt.issuedAt, uint256)
    due: uint256 = issued + anchorDeadline + MAX_SKEW
    assert block.timestamp > due, "anchor deadline not passed"
    assert block.timestamp <= issued + auditWindow, "outside the audit window"
    return self._open(KIND_UNANCHORED, receipt.node, digest, receipt.requestId, receipt.inputHash,
                      0, 0, 0, due, msg.value)


@external
def answerAnchor(id: uint256, batchId: uint256, index: uint256, count: uint256,
                 proof: DynArray[bytes32, MAX_PROOF]):
    """
    @notice Prove the challenged receipt is leaf `index` of `count` in batch `batchId`,
            anchored by its deadline (anyone may; normally the node).
    """
    c: Challenge = self._answerable(id, KIND_UNANCHORED)
    anchored: bytes32 = staticcall anchor.commitmentOf(c.node, batchId)
    assert anchored != empty(bytes32), "batch not anchored"
    assert staticcall disputes.batchCommitment(c.key, index, count, proof) == anchored, "not in the anchored batch"
    assert staticcall anchor.anchoredAt(c.node, batchId) <= c.dueBy, "anchored after its deadline"
    self._answered(id, c)
    log AnchorProven(id=id, node=c.node, answerer=msg.sender, batchId=batchId, index=index)


@internal
def _convict(c: Challenge, id: uint256, bond: uint256):
    slashed: uint256 = 0
    reward: uint256 = 0
    slashed, reward = extcall disputes.convict(c.node, c.challenger, c.key, value=bond)
    log Convicted(node=c.node, challenger=c.challenger, kind=c.kind, id=id, key=c.key,
                  slashed=slashed, reward=reward, burned=slashed - reward)


@nonreentrant
@external
def resolve(id: uint256):
    """
    @notice After the response window with no answer (anyone): the node is slashed
            `slashBps`, jailed, and the challenger credited its bond and reward.
    """
    c: Challenge = self._challenges[id]
    assert c.status == CHALLENGE_OPEN, "not open"
    assert block.timestamp > c.deadline, "response window still open"
    self._challenges[id].status = CHALLENGE_UPHELD
    self.active[c.kind][c.key] = 0
    extcall disputes.release(c.node)
    self._convict(c, id, c.bond)


@nonreentrant
@external
def challengeModel(receipt: Receipt, signature: Bytes[65], batchId: uint256, index: uint256, count: uint256,
                   proof: DynArray[bytes32, MAX_PROOF]):
    """
    @notice Convict at once a receipt whose model (keccak256 of its binary CID) the node
            had not registered in Staking when it issued the receipt (a staked validator,
            inside the audit window; no bond: the contract decides).
    """
    digest: bytes32 = self._evidence(receipt, signature, batchId, index, count, proof)
    assert staticcall disputes.verdictOf(digest) != GUILTY, "receipt already judged"
    model: bytes32 = keccak256(receipt.model)
    since: uint256 = staticcall staking.modelSince(receipt.node, model)
    until: uint256 = staticcall staking.modelUntil(receipt.node, model)
    issued: uint256 = convert(receipt.issuedAt, uint256)
    # registered (with the clock skew allowed) at issuedAt: never convict an honest node
    held: bool = since != 0 and since <= issued + MAX_SKEW and (until == 0 or issued <= until + MAX_SKEW)
    assert not held, "model registered"
    c: Challenge = empty(Challenge)
    c.kind = KIND_UNREGISTERED_MODEL
    c.node = receipt.node
    c.challenger = msg.sender
    c.key = digest
    self._convict(c, 0, 0)


# -- reads -------------------------------------------------------------------------------


@view
@external
def challenge(id: uint256) -> Challenge:
    return self._challenges[id]
