"""Python values from an in-process EVM, as JSON-RPC wire values.

The Ethereum JSON-RPC spec (execution-apis, "Encoding") writes quantities as
0x-hex and data as 0x-prefixed bytes. eth-tester answers with Python ints and
bytes; whatever serves its answers over HTTP (the gateway's read-only proxy,
a test chain server) converts them with :func:`to_rpc_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["to_rpc_json"]


def to_rpc_json(value: Any) -> Any:
    """Ints to hex quantities, bytes to 0x data, recursively; strings and None as they are."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {k: to_rpc_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_rpc_json(v) for v in value]
    return str(value)
