"""Cairn: a hybrid decentralized-AI stack.

Inference runs fast behind an HTTP gateway; content addressing, identity,
provenance, receipts, verification and settlement are decentralized. Each layer
is a package (``cairn.content``, ``cairn.identity``, ...); see docs/ and
../shared/DESIGN.md for how they fit together.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
