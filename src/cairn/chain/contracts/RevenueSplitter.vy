# pragma version ~=0.4.1
"""
@title RevenueSplitter
@notice A node's payment address. Clients pay here (x402 `payTo`), never the node
        itself; `release()`, callable by anyone, sends the validator pool its share of
        everything received and the node the rest. The share is enforced by where the
        money goes, not by trusting the node.
@dev One per node, created by the ValidatorPool as an EIP-1167 minimal proxy with
     CREATE2 (EIP-1014), salt = the node's address: anyone computes a node's splitter
     address offline from (pool, implementation, node), and a client may pay it
     before it exists. A proxy runs no constructor, so the pool calls `initialize`
     in the transaction that creates it; nobody can initialize a proxy first.
     The pool's share (`SHARE`, basis points) is the pool's constant, read at every
     release: one definition. It is rounded down; the node gets the rest, so a
     release leaves nothing behind. The pool's part enters through the pool's own
     `fund` (approve, then `fund` pulls it), so the pool's ledger sees every token.
"""

from ethereum.ercs import IERC20

interface IPool:
    def SHARE() -> uint256: view
    def fund(amount: uint256): nonpayable

BPS: constant(uint256) = 10000


event Released:
    node: indexed(address)
    toNode: uint256
    toPool: uint256


node: public(address)
pool: public(address)
token: public(address)


@external
def initialize(_node: address, _pool: address, _token: address):
    """
    @notice Bind this splitter to its node, pool and token: once, by the pool.
    """
    assert self.pool == empty(address), "already initialized"
    assert msg.sender == _pool, "not the pool"
    self.node = _node
    self.pool = _pool
    self.token = _token


@pure
@internal
def _share_of(amount: uint256, share: uint256) -> uint256:
    # floor(amount * share / BPS) without overflowing for any amount
    return amount // BPS * share + amount % BPS * share // BPS


@external
def release() -> (uint256, uint256):
    """
    @notice Split this splitter's whole token balance: the pool's share to the pool,
            the rest to the node. Returns (to the node, to the pool).
    """
    receiver: IPool = IPool(self.pool)
    assert receiver.address != empty(address), "not initialized"
    coin: IERC20 = IERC20(self.token)
    amount: uint256 = staticcall coin.balanceOf(self)
    assert amount > 0, "nothing to release"
    to_pool: uint256 = self._share_of(amount, staticcall receiver.SHARE())
    to_node: uint256 = amount - to_pool
    payee: address = self.node
    if to_pool > 0:
        extcall coin.approve(receiver.address, to_pool, default_return_value=True)
        extcall receiver.fund(to_pool)
    if to_node > 0:
        assert extcall coin.transfer(payee, to_node, default_return_value=True), "transfer failed"
    log Released(node=payee, toNode=to_node, toPool=to_pool)
    return to_node, to_pool
