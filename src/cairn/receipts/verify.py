"""Checking a receipt, offline and online.

Offline (no network): the receipt is one the Disputes contract can judge
(:meth:`Receipt.check_judgeable`: its domain name and version, its field
bounds), so everything accepted here can be turned into evidence; the
signature recovers to the receipt's ``node``; the ``inputHash`` and
``outputHash`` match the input and output the client holds; the network
(chain id and ReceiptAnchor) is the one the client *pinned* — from its own
configuration, never from the receipt; the model is the one it asked for.
Online: the inclusion proof links the receipt, as leaf ``leafIndex`` of a batch of
``count``, to the commitment the node anchored onchain for that batch
(:mod:`cairn.receipts.merkle`: the count is part of what is anchored), and the
node is staked.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from cairn.content import Cid
from cairn.errors import CairnError, ReceiptInvalid
from cairn.receipts.merkle import batch_commitment, verify_proof
from cairn.receipts.receipt import Receipt, ReceiptDomain

__all__ = ["InclusionProof", "verify_offline", "verify_online"]


@dataclass(frozen=True)
class InclusionProof:
    """Leaf ``leaf_index`` of batch ``batch_id`` (``count`` receipts, Merkle ``root``)."""

    node: str
    batch_id: int
    leaf_index: int
    count: int
    root: bytes
    siblings: tuple[bytes, ...]

    @property
    def commitment(self) -> bytes:
        """What ReceiptAnchor must hold for this batch."""
        return batch_commitment(self.root, self.count)

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "batchId": self.batch_id,
            "leafIndex": self.leaf_index,
            "count": self.count,
            "root": "0x" + self.root.hex(),
            "proof": ["0x" + s.hex() for s in self.siblings],
        }

    @classmethod
    def from_json(cls, obj: object) -> InclusionProof:
        if not isinstance(obj, dict):
            raise ReceiptInvalid("an inclusion proof must be a JSON object")
        try:
            return cls(
                str(obj["node"]),
                int(obj["batchId"]),
                int(obj["leafIndex"]),
                int(obj["count"]),
                bytes.fromhex(str(obj["root"]).removeprefix("0x")),
                tuple(bytes.fromhex(str(s).removeprefix("0x")) for s in obj["proof"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptInvalid(f"malformed inclusion proof: {exc}") from None


def verify_offline(
    receipt: Receipt,
    *,
    input_hash: bytes | None = None,
    output_hash: bytes | None = None,
    expected_node: str | None = None,
    expected_domain: ReceiptDomain | None = None,
    expected_models: Collection[str] | None = None,
) -> None:
    """Raise :class:`ReceiptInvalid` naming the first check that fails.

    ``expected_domain`` is the pinned network; ``expected_models`` the model CIDs the
    caller asked for (the CID itself, or the registry's current version of a name).
    """
    receipt.check_judgeable()
    if expected_domain is not None and not receipt.domain.same_network(expected_domain):
        raise ReceiptInvalid(
            f"receipt belongs to network {receipt.domain.describe()}, "
            f"not the pinned {expected_domain.describe()}"
        )
    signer = receipt.signer()
    if signer.lower() != receipt.node.lower():
        raise ReceiptInvalid(f"receipt signed by {signer}, not by its node {receipt.node}")
    if expected_node is not None and signer.lower() != expected_node.lower():
        raise ReceiptInvalid(f"receipt signed by {signer}, expected {expected_node}")
    if expected_models is not None and receipt.model not in _cids(expected_models):
        raise ReceiptInvalid(
            f"receipt names model {receipt.model}, not the one asked for "
            f"({', '.join(sorted(expected_models)) or 'none'})"
        )
    if input_hash is not None and input_hash != receipt.input_hash:
        raise ReceiptInvalid("input does not match the receipt's inputHash")
    if output_hash is not None and output_hash != receipt.output_hash:
        raise ReceiptInvalid("output does not match the receipt's outputHash")


def _cids(models: Collection[str]) -> set[str]:
    """The canonical text of each CID (a CID may be written in more than one base)."""
    out = set()
    for text in models:
        try:
            out.add(str(Cid.parse(text)))
        except CairnError:
            out.add(text)
    return out


def verify_online(
    receipt: Receipt,
    proof: InclusionProof,
    commitment_of: Callable[[str, int], bytes | None],
    is_staked: Callable[[str], bool],
) -> None:
    """Check inclusion against the onchain commitment (root and count) and the node's stake.

    ``commitment_of(node, batch_id)`` is ``ReceiptAnchor.commitmentOf`` (None: not anchored).
    """
    if proof.node.lower() != receipt.node.lower():
        raise ReceiptInvalid("proof is for another node's batch")
    onchain = commitment_of(receipt.node, proof.batch_id)
    if onchain is None:
        raise ReceiptInvalid(f"batch {proof.batch_id} of {receipt.node} is not anchored")
    if onchain != proof.commitment:
        raise ReceiptInvalid("proof is for another root or count than the one anchored onchain")
    if not verify_proof(receipt.digest(), proof.leaf_index, proof.count, proof.siblings, onchain):
        raise ReceiptInvalid(
            f"inclusion proof does not link the receipt, as leaf {proof.leaf_index} "
            f"of {proof.count}, to the anchored commitment"
        )
    if not is_staked(receipt.node):
        raise ReceiptInvalid(f"node {receipt.node} is not staked")
