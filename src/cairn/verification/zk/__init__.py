"""The zk tier (EZKL): artifacts and proofs bound to receipts, the node's prover, the
validator's verifier. Needs the ``zk`` extra (``pip install 'cairn[zk]'``), so
:mod:`cairn.verification` does not import this package; import it by name.

- :mod:`~cairn.verification.zk.artifact` — :func:`setup`, :class:`ZkArtifact`,
  :class:`ZkProof`, :func:`verify_proof` (docs/verification.md, "zk tier")
- :mod:`~cairn.verification.zk.prover` — :class:`ZkProver`, the node's ``ProvingQueue``
- :mod:`~cairn.verification.zk.verifier` — :class:`ZkVerifier`, for ``Reexecutor(zk=...)``
"""

from cairn.verification.zk.artifact import (
    MANIFEST,
    ZkArtifact,
    ZkProof,
    check_derivation,
    compare,
    flat_inputs,
    load_artifact,
    load_artifacts,
    model_policy,
    record_artifact,
    setup,
    verify_proof,
)

__all__ = [
    "MANIFEST",
    "ZkArtifact",
    "ZkProof",
    "check_derivation",
    "compare",
    "flat_inputs",
    "load_artifact",
    "load_artifacts",
    "model_policy",
    "record_artifact",
    "setup",
    "verify_proof",
]
