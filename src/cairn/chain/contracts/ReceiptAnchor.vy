# pragma version ~=0.4.1
"""
@title ReceiptAnchor
@notice A staked node anchors the Merkle root and receipt count of a batch of its receipts.
@dev Gas is the design constraint (target <= 60 000 per anchor): one word is stored, in
     a slot keyed by (node, batch id) and written once: the commitment
     keccak256(0x02 || root || uint256(count)), so the count is as binding as the root
     (an inclusion proof in the positional tree of cairn.receipts.merkle proves
     index < count; the Disputes contract checks it). Root and count travel in the event,
     where readers find them. A commitment can never change: a second anchor of the same
     batch reverts.
"""

interface IStaking:
    def isStaked(who: address, role: uint8) -> bool: view

ROLE_NODE: constant(uint8) = 1
# Receipts per batch at most (the Disputes contract walks proofs of up to 20 levels).
MAX_COUNT: constant(uint256) = 2**20


event Anchored:
    node: indexed(address)
    batchId: indexed(uint256)
    root: bytes32
    receiptCount: uint256


staking: public(immutable(IStaking))
commitmentOf: public(HashMap[address, HashMap[uint256, bytes32]])


@deploy
def __init__(_staking: address):
    staking = IStaking(_staking)


@external
def anchor(batchId: uint256, root: bytes32, receiptCount: uint256):
    assert root != empty(bytes32), "empty root"
    assert receiptCount > 0, "empty batch"
    assert receiptCount <= MAX_COUNT, "count over the cap"
    assert self.commitmentOf[msg.sender][batchId] == empty(bytes32), "batch already anchored"
    assert staticcall staking.isStaked(msg.sender, ROLE_NODE), "node not staked"
    self.commitmentOf[msg.sender][batchId] = keccak256(concat(b"\x02", root, convert(receiptCount, bytes32)))
    log Anchored(node=msg.sender, batchId=batchId, root=root, receiptCount=receiptCount)
