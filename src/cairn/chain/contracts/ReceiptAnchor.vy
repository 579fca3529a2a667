# pragma version ~=0.4.1
"""
@title ReceiptAnchor
@notice A staked node anchors the Merkle root of a batch of its receipts.
@dev Gas is the design constraint (target <= 60 000 per anchor): the root is the only
     word stored, in a slot keyed by (node, batch id) and written once; the receipt
     count and time travel in the event, where readers and the dispute contract find
     them. A root can never change: a second anchor of the same batch reverts.
"""

interface IStaking:
    def isStaked(who: address, role: uint8) -> bool: view

ROLE_NODE: constant(uint8) = 1


event Anchored:
    node: indexed(address)
    batchId: indexed(uint256)
    root: bytes32
    receiptCount: uint256


staking: public(immutable(IStaking))
rootOf: public(HashMap[address, HashMap[uint256, bytes32]])


@deploy
def __init__(_staking: address):
    staking = IStaking(_staking)


@external
def anchor(batchId: uint256, root: bytes32, receiptCount: uint256):
    assert root != empty(bytes32), "empty root"
    assert receiptCount > 0, "empty batch"
    assert self.rootOf[msg.sender][batchId] == empty(bytes32), "batch already anchored"
    assert staticcall staking.isStaked(msg.sender, ROLE_NODE), "node not staked"
    self.rootOf[msg.sender][batchId] = root
    log Anchored(node=msg.sender, batchId=batchId, root=root, receiptCount=receiptCount)
