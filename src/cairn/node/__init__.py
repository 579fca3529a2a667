"""Services: the gateway and the validator loop; the composition root.

Public surface:

- :class:`NodeSettings`, :class:`ValidatorSettings`, :func:`from_flags` — settings from
  ``CAIRN_*`` (flag > environment > default)
- :func:`bootstrap` and :class:`NodeContext` (bring a data dir to a serving node, with the
  models the settings name: :mod:`cairn.node.models`), :class:`ServedModel`,
  :class:`Prover` (the zk tier's background prover, optional)
- :func:`create_app` (the FastAPI gateway), :func:`serve` (run it until Ctrl-C or SIGTERM)
- :func:`run_validator` — a :class:`cairn.verification.Validator`, ticking until stopped
"""

from cairn.node.bootstrap import NodeContext, Prover, ServedModel, bootstrap
from cairn.node.gateway import create_app
from cairn.node.server import serve
from cairn.node.settings import NodeSettings, ValidatorSettings, from_flags
from cairn.node.validator import run_validator

__all__ = [
    "NodeContext",
    "NodeSettings",
    "Prover",
    "ServedModel",
    "ValidatorSettings",
    "bootstrap",
    "create_app",
    "from_flags",
    "run_validator",
    "serve",
]
