"""The one exception family of cairn.

Every failure a caller can act on is a :class:`CairnError`. Third-party
exceptions (Web3.py, eth-account, onnxruntime, httpx, ...) are translated at the
backend boundary, so callers catch one family. Where a built-in exception
describes the same thing, the cairn class also inherits it, so that
``except ValueError`` keeps working (as Web3.py's ``Web3ValueError`` does).

The tree::

    CairnError
    ├── ConfigError                       bad settings, unknown backend URL
    ├── JournalCorrupt                    a node's write-ahead spool holds a damaged record
    ├── ContentError                      cairn.content
    │   ├── ContentValueError (ValueError)   bad CID, bad profile, bad protobuf
    │   ├── BlockNotFound (KeyError)         a block is not in the store
    │   ├── BlockVerificationError           bytes do not hash to their CID
    │   ├── CarError (ValueError)            truncated or malformed CAR
    │   ├── GatewayError                     an HTTP gateway failed or lied
    │   │   └── ArweaveError                     an Arweave gateway failed, lied or refused a post
    ├── IdentityError                     cairn.identity
    │   ├── WalletNotFound (KeyError)
    │   ├── WalletExists
    │   ├── WrongPassphrase
    │   └── SignatureError (ValueError)      bad or forged signature, bad typed data
    ├── ProvenanceError                   cairn.provenance
    │   ├── ManifestError (ValueError)       malformed statement or envelope
    │   └── VerificationFailed               signature, subject or lineage check failed
    ├── ChainError                        cairn.chain
    │   ├── ChainUnreachable                 RPC endpoint down or wrong chain
    │   ├── ChainRpcError                    the chain answered a JSON-RPC call with an error
    │   ├── ContractRevert                   a transaction reverted; carries the reason
    │   ├── InsufficientFunds
    │   ├── NotDeployed                      no contracts recorded for this chain
    │   └── VoucherInvalid (ValueError)      a payment voucher's signature or fields are bad
    ├── InferenceError                    cairn.inference
    │   ├── ModelNotFound (KeyError)
    │   └── TensorError (ValueError)         wrong dtype, shape or encoding
    ├── ReceiptError                      cairn.receipts
    │   └── ReceiptInvalid (ValueError)
    ├── VerificationError                 cairn.verification
    │   ├── NodeUnavailable                  a node refused or lost what an audit needs
    │   ├── EvidenceMismatch (ValueError)    a node's batch or I/O does not match what it signed
    │   └── ZkError                          EZKL setup, proving or verification failed
    ├── PaymentError                      cairn.payments
    ├── ClientError                       cairn.client: a gateway unreachable, or it refused
    ├── NodeError                         cairn.node
    └── AuditError                        cairn.audit
        └── StackManifestError (ValueError)  a bad stack manifest, with its line

"Not found" errors suggest close matches when they can (see :func:`did_you_mean`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ArweaveError",
    "AuditError",
    "BlockNotFound",
    "BlockVerificationError",
    "CairnError",
    "CarError",
    "ChainError",
    "ChainRpcError",
    "ChainUnreachable",
    "ClientError",
    "ConfigError",
    "ContentError",
    "ContentValueError",
    "ContractRevert",
    "EvidenceMismatch",
    "GatewayError",
    "IdentityError",
    "InferenceError",
    "InsufficientFunds",
    "JournalCorrupt",
    "ManifestError",
    "ModelNotFound",
    "NodeError",
    "NodeUnavailable",
    "NotDeployed",
    "PaymentError",
    "PaymentInvalid",
    "ProvenanceError",
    "ReceiptError",
    "ReceiptInvalid",
    "SignatureError",
    "SiweInvalid",
    "StackManifestError",
    "TensorError",
    "VerificationError",
    "VerificationFailed",
    "VoucherInvalid",
    "WalletExists",
    "WalletNotFound",
    "WrongPassphrase",
    "ZkError",
    "did_you_mean",
    "one_line",
]


class CairnError(Exception):
    """Root of every error cairn raises on purpose."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(CairnError):
    """A setting, data directory or backend URL cannot be used."""


class JournalCorrupt(CairnError):
    """A node's write-ahead spool (cairn._journal) holds a damaged record: not a write
    cut short by a crash (dropped, never acknowledged) but bytes changed afterwards."""


class ContentError(CairnError):
    """Content addressing and storage (cairn.content)."""


class ContentValueError(ContentError, ValueError):
    """A CID, profile, protobuf or UnixFS node is malformed."""


class BlockNotFound(ContentError, KeyError):
    """A block is not in the blockstore."""


class BlockVerificationError(ContentError):
    """A block's bytes do not hash to the CID they were stored or served under."""


class CarError(ContentError, ValueError):
    """A CAR file is truncated, malformed or of an unsupported version."""


class GatewayError(ContentError):
    """An HTTP gateway could not be reached or returned something unusable."""


class ArweaveError(GatewayError):
    """An Arweave gateway refused a post, or served items, tags or bytes that do not check out."""


class IdentityError(CairnError):
    """Wallets, keystores and signatures (cairn.identity)."""


class WalletNotFound(IdentityError, KeyError):
    """No wallet by that name or address."""


class WalletExists(IdentityError):
    """A wallet with that name already exists."""


class WrongPassphrase(IdentityError):
    """The keystore could not be decrypted with the given passphrase."""


class SiweInvalid(IdentityError, ValueError):
    """A Sign-In with Ethereum (EIP-4361) message or its signature is refused."""


class SignatureError(IdentityError, ValueError):
    """A signature is malformed, forged, or made by another key."""


class ProvenanceError(CairnError):
    """Manifests, envelopes and lineage (cairn.provenance)."""


class ManifestError(ProvenanceError, ValueError):
    """A statement, predicate or DSSE envelope is malformed."""


class VerificationFailed(ProvenanceError):
    """A manifest, subject or lineage link did not verify."""


class ChainError(CairnError):
    """Contracts and chain access (cairn.chain)."""


class ChainUnreachable(ChainError):
    """The chain's RPC endpoint cannot be reached or is not the expected chain."""


class ChainRpcError(ChainError):
    """A JSON-RPC call failed; ``code`` and ``data`` are its EIP-1474 error, as answered."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class ContractRevert(ChainError):
    """A contract call reverted; ``contract`` and ``reason`` say which and why."""

    def __init__(self, contract: str, reason: str) -> None:
        super().__init__(f"{contract}: reverted: {reason}")
        self.contract = contract
        self.reason = reason


class InsufficientFunds(ChainError):
    """The sending account cannot pay for value plus gas."""


class NotDeployed(ChainError):
    """The contracts are not deployed on this chain (run `cairn chain deploy`)."""


class VoucherInvalid(ChainError, ValueError):
    """A payment-channel voucher is malformed or not signed by the channel's payer."""


class InferenceError(CairnError):
    """Model loading and execution (cairn.inference)."""


class ModelNotFound(InferenceError, KeyError):
    """No model by that name or CID."""


class TensorError(InferenceError, ValueError):
    """A tensor has the wrong dtype, shape or encoding."""


class ReceiptError(CairnError):
    """Receipts, batches and inclusion proofs (cairn.receipts)."""


class ReceiptInvalid(ReceiptError, ValueError):
    """A receipt's signature, hashes or inclusion proof do not verify."""


class VerificationError(CairnError):
    """Sampling, re-execution, disputes (cairn.verification)."""


class NodeUnavailable(VerificationError):
    """A node did not hand over a retained input, output or batch (that audit fails)."""


class EvidenceMismatch(VerificationError, ValueError):
    """What a node served does not hash to what it signed or anchored."""


class ZkError(VerificationError):
    """The zk tier (EZKL) could not set up, prove or verify."""


class PaymentError(CairnError):
    """Payment channels and vouchers (cairn.payments)."""


class PaymentInvalid(PaymentError, ValueError):
    """An x402 payment (header, authorization or voucher) is refused; the message says why."""


class ClientError(CairnError):
    """A gateway was unreachable or refused a call; ``status`` is its HTTP status (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class NodeError(CairnError):
    """Gateway, validator and worker services (cairn.node)."""


class AuditError(CairnError):
    """The stack auditor (cairn.audit)."""


class StackManifestError(AuditError, ValueError):
    """A stack manifest is invalid; the message names the line and the field."""


def one_line(text: str, limit: int = 300) -> str:
    """``text`` safe inside a one-line error: whitespace collapsed, cut at ``limit``."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for the closest choice, or ""."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
