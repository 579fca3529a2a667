"""Property tests: no input makes the CID, protobuf, CBOR or CAR parsers fail with
anything but a CairnError; and import/export is an identity."""

from __future__ import annotations

import contextlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from cairn import content
from cairn.content import _cbor, _pb
from cairn.content.cid import Cid
from cairn.errors import CairnError

settings.register_profile("cairn", max_examples=300, deadline=None)
settings.load_profile("cairn")


@given(st.one_of(st.binary(max_size=80), st.text(max_size=80)))
def test_cid_parse_only_raises_cairn_errors(value: bytes | str) -> None:
    try:
        cid = Cid.parse(value)
    except CairnError:
        return
    assert Cid.parse(str(cid)) == cid


@given(st.binary(max_size=300))
def test_dag_pb_and_unixfs_decoders_only_raise_cairn_errors(data: bytes) -> None:
    try:
        node = _pb.decode_node(data)
        if node.data is not None:
            _pb.decode_unixfs(node.data)
    except CairnError:
        pass


@given(st.binary(max_size=200))
def test_cbor_decoder_only_raises_cairn_errors(data: bytes) -> None:
    with contextlib.suppress(CairnError):
        _cbor.decode(data)


_HEADER = bytes.fromhex("11a265726f6f7473806776657273696f6e01")


@given(st.binary(max_size=400), st.booleans())
def test_car_reader_only_raises_cairn_errors(tail: bytes, with_header: bool) -> None:
    data = (_HEADER if with_header else b"") + tail
    try:
        _, blocks = content.iter_car(io.BytesIO(data))
        for _ in blocks:
            pass
    except CairnError:
        pass


@given(
    st.lists(
        st.tuples(st.binary(min_size=34, max_size=40), st.text(max_size=8), st.integers(0, 2**40)),
        max_size=4,
    ),
    st.binary(max_size=50),
)
def test_dag_pb_roundtrip(links: list[tuple[bytes, str, int]], data: bytes) -> None:
    node = _pb.PBNode(tuple(_pb.PBLink(*link) for link in links), data)
    assert _pb.decode_node(_pb.encode_node(node)) == node


@settings(max_examples=40)
@given(
    st.binary(max_size=3000),
    st.sampled_from(sorted(content.PROFILES)),
    st.integers(min_value=1, max_value=700),
    st.integers(min_value=2, max_value=5),
)
def test_import_then_read_is_identity(data: bytes, profile: str, chunk: int, links: int) -> None:
    p = content.get_profile(profile).with_overrides(chunk_size=chunk, max_links=links)
    store = content.MemoryBlockstore()
    cid = content.add_bytes(data, store, p)
    assert content.read_bytes(cid, store) == data
    buf = io.BytesIO()
    content.write_car([cid], content.walk_blocks(cid, store), buf)
    again = content.MemoryBlockstore()
    _, blocks = content.iter_car(io.BytesIO(buf.getvalue()))
    for block_cid, block in blocks:
        again.put(block_cid, block)
    assert content.read_bytes(cid, again) == data
