"""Read a stack manifest from YAML, and point every error at its line.

pydantic reports where a field is wrong as a path (``('layers', 'inference',
'operators')``); a person editing ``stack.yaml`` needs a line number. PyYAML's
composer keeps a mark (line, column) on every node, so we compose the node tree
once, construct the plain data from it, and walk the same tree along the error
path to find the line. One error line per bad field, as ``FILE:LINE: path: message``.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from cairn.audit.manifest import StackManifest
from cairn.errors import StackManifestError, did_you_mean

__all__ = ["parse_manifest"]

_MAX_ERRORS = 20


def parse_manifest(text: str | bytes, source: str = "stack.yaml") -> StackManifest:
    """Parse and validate YAML text; raise :class:`StackManifestError` naming the line."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StackManifestError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    node = _compose(text, source)
    data = _construct(node, source)
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        raise StackManifestError(f"{source}:{line}: a stack manifest must be a YAML mapping")
    try:
        return StackManifest.model_validate(data)
    except ValidationError as exc:
        assert node is not None  # data is a dict, so there was a document
        lines = [_describe(err, node, source) for err in exc.errors()]
        more = len(lines) - _MAX_ERRORS
        text_out = "\n".join(lines[:_MAX_ERRORS]) + (f"\n... and {more} more" if more > 0 else "")
        raise StackManifestError(text_out) from None


def _compose(text: str, source: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise StackManifestError(f"{source}:{line}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise StackManifestError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise StackManifestError(f"{source}: invalid YAML: nested too deeply") from None


def _construct(node: yaml.Node | None, source: str) -> Any:
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise StackManifestError(f"{source}:{line}: invalid YAML: {exc.problem}") from None
    except (yaml.YAMLError, TypeError, ValueError, OverflowError) as exc:
        raise StackManifestError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise StackManifestError(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def _describe(err: ErrorDetails, root: yaml.Node, source: str) -> str:
    loc = [part for part in err["loc"] if part != "[key]"]
    line = _line_of(root, loc)
    path = ".".join(str(part) for part in loc) or "(top level)"
    return f"{source}:{line}: {path}: {_message(err, root, loc)}"


def _line_of(root: yaml.Node, loc: list[int | str]) -> int:
    """The line of the deepest node on ``loc``; a missing key points at its parent."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        key_node, node = child
        line = (key_node or node).start_mark.line + 1
    return line


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and str(key.value) == str(part):
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None


def _message(err: ErrorDetails, root: yaml.Node, loc: list[int | str]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field" + did_you_mean(str(loc[-1]), _allowed(loc[:-1]))
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", "")).replace("'", "")
        return f"must be one of {expected}"
    return _PLAIN.get(kind) or (err["msg"][:1].lower() + err["msg"][1:])


_PLAIN = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _allowed(loc: list[int | str]) -> list[str]:
    """Field names of the model found at ``loc`` (for "did you mean")."""
    model: Any = StackManifest
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = field.annotation
    fields = getattr(model, "model_fields", None)
    return list(fields) if isinstance(fields, dict) else []
