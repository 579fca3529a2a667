"""Services: the gateway (and later validator and worker processes); the composition root.

Public surface: :class:`NodeSettings`, :func:`bootstrap` and :class:`NodeContext`
(bring a data dir to a serving node), :func:`create_app` (the FastAPI gateway),
:func:`serve` (run it until Ctrl-C or SIGTERM).
"""

from cairn.node.bootstrap import NodeContext, ServedModel, bootstrap
from cairn.node.gateway import create_app
from cairn.node.server import serve
from cairn.node.settings import NodeSettings

__all__ = ["NodeContext", "NodeSettings", "ServedModel", "bootstrap", "create_app", "serve"]
