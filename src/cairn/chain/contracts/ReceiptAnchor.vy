# pragma version ~=0.4.1
"""
@title ReceiptAnchor
@notice A staked node anchors the Merkle root and receipt count of a batch of its receipts.
@dev Gas is the design constraint (target <= 60 000 per anchor): one word is stored, in
     a slot keyed by (node, batch id) and written once. It packs the commitment, the low
     216 bits of keccak256(0x02 || root || uint256(count)), so the count is as binding as
     the root (an inclusion proof in the positional tree of cairn.receipts.merkle proves
     index < count; the Disputes contract checks it; a second (root, count) under the
     same commitment is a 216-bit collision, about 2^108 work), under the block time of
     the anchor in the top 40 bits: the Challenges contract bounds a leaf challenge by
     it (`anchoredAt`), at no extra storage. Root and count travel in the event, where
     readers find them. A commitment can never change: a second anchor of the same batch
     reverts.
"""

interface IStaking:
    def isStaked(who: address, role: uint8) -> bool: view

ROLE_NODE: constant(uint8) = 1
# Receipts per batch at most (the Disputes contract walks proofs of up to 20 levels).
MAX_COUNT: constant(uint256) = 2**20
COMMITMENT_BITS: constant(uint256) = 216
COMMITMENT_MASK: constant(uint256) = 2**216 - 1


event Anchored:
    node: indexed(address)
    batchId: indexed(uint256)
    root: bytes32
    receiptCount: uint256


staking: public(immutable(IStaking))
_slots: HashMap[address, HashMap[uint256, uint256]]  # anchoredAt << 216 | commitment


@deploy
def __init__(_staking: address):
    staking = IStaking(_staking)


@pure
@internal
def _commitment(root: bytes32, count: uint256) -> bytes32:
    whole: uint256 = convert(keccak256(concat(b"\x02", root, convert(count, bytes32))), uint256)
    return convert(whole & COMMITMENT_MASK, bytes32)


@pure
@external
def commitmentFor(root: bytes32, count: uint256) -> bytes32:
    """
    @notice The commitment of a batch of `count` receipts under `root`: the one rule, which
            Disputes and Challenges call.
    """
    return self._commitment(root, count)


@external
def anchor(batchId: uint256, root: bytes32, receiptCount: uint256):
    assert root != empty(bytes32), "empty root"
    assert receiptCount > 0, "empty batch"
    assert receiptCount <= MAX_COUNT, "count over the cap"
    assert self._slots[msg.sender][batchId] == 0, "batch already anchored"
    assert staticcall staking.isStaked(msg.sender, ROLE_NODE), "node not staked"
    commitment: uint256 = convert(self._commitment(root, receiptCount), uint256)
    self._slots[msg.sender][batchId] = (block.timestamp << COMMITMENT_BITS) | commitment
    log Anchored(node=msg.sender, batchId=batchId, root=root, receiptCount=receiptCount)


@view
@external
def commitmentOf(node: address, batchId: uint256) -> bytes32:
    """
    @notice The commitment `node` anchored for `batchId` (zero if none).
    """
    return convert(self._slots[node][batchId] & COMMITMENT_MASK, bytes32)


@view
@external
def anchoredAt(node: address, batchId: uint256) -> uint256:
    """
    @notice The block time at which `node` anchored `batchId` (zero if never).
    """
    return self._slots[node][batchId] >> COMMITMENT_BITS
