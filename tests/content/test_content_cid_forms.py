"""The CID forms read without the multiformats package agree with it (issue "Speed").

``cairn.content.cid`` reads and writes the canonical forms itself, so a command
that handles one CID does not import a table of every multicodec; anything else
goes to ``multiformats``. These tests hold the two paths to one answer: every form
the fast path accepts, the package decodes to the same value, and every string the
fast path writes is the package's own; random mutations are either refused by both
or read the same by both.
"""

from __future__ import annotations

import random

import pytest
from multiformats import CID as MfCID
from multiformats import multihash

from cairn.content import cid as cid_mod
from cairn.content.cid import BLAKE2B_256, DAG_CBOR, DAG_PB, IDENTITY, RAW, SHA2_256, SHA2_512, Cid
from cairn.errors import ContentValueError

# Known strings: the empty raw block and "hello" (ipfs-car / Kubo agree on these).
EMPTY_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
EMPTY_DIR_V0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"

SAMPLES = [
    Cid.of(b"", RAW),
    Cid.of(b"hello", RAW),
    Cid.of(b"\x0a\x02\x08\x01", DAG_PB, version=0),
    Cid.of(b"\x0a\x02\x08\x01", DAG_PB),
    Cid.of(b"\xa0", DAG_CBOR),
    Cid.of(b"x", RAW, hash_code=SHA2_512),
    Cid.of(b"x", RAW, hash_code=BLAKE2B_256),
    Cid.of(b"tiny", RAW, hash_code=IDENTITY),
]


def _mf(value: str | bytes) -> tuple[int, int, int, bytes]:
    mf = MfCID.decode(value)
    code, digest = multihash.unwrap_raw(mf.digest)
    return mf.version, mf.codec.code, code, bytes(digest)


def _fields(c: Cid) -> tuple[int, int, int, bytes]:
    return c.version, c.codec, c.hash_code, c.digest


def test_known_strings_read_and_write_back() -> None:
    assert str(Cid.of(b"", RAW)) == EMPTY_RAW
    assert str(Cid.parse(EMPTY_DIR_V0)) == EMPTY_DIR_V0
    assert cid_mod._read_canonical(EMPTY_DIR_V0) is not None
    assert cid_mod._read_canonical(EMPTY_RAW) is not None


@pytest.mark.parametrize("c", SAMPLES, ids=lambda c: f"v{c.version}-{c.codec_name}-{c.hash_code:x}")
def test_the_fast_forms_are_the_packages_forms(c: Cid) -> None:
    text = str(c)
    base = "base58btc" if c.version == 0 else "base32"
    assert text == str(MfCID(base, c.version, c.codec, c.multihash))
    fast = cid_mod._read_canonical(text)
    assert fast is not None and _fields(fast) == _mf(text)
    assert _fields(Cid.parse(bytes(c))) == _mf(bytes(c))
    if c.version == 1:
        z = str(MfCID("base58btc", 1, c.codec, c.multihash))
        zfast = cid_mod._read_canonical(z)
        assert zfast is not None and zfast == c


@pytest.mark.parametrize(
    "base", ["base32upper", "base36", "base64", "base16"], ids=lambda b: b.replace("base", "b")
)
def test_other_multibases_still_read_through_the_package(base: str) -> None:
    c = Cid.of(b"hello", RAW)
    text = str(MfCID(base, 1, c.codec, c.multihash))
    assert cid_mod._read_canonical(text) is None
    assert Cid.parse(text) == c


def test_mutations_are_refused_by_both_or_read_the_same() -> None:
    rng = random.Random(11)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567QmzZ1"
    seen_fast = 0
    for c in SAMPLES * 40:
        text = list(str(c))
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(3)
            i = rng.randrange(len(text))
            if op == 0:
                text[i] = rng.choice(alphabet)
            elif op == 1 and len(text) > 2:
                del text[i]
            else:
                text.insert(i, rng.choice(alphabet))
        mutated = "".join(text)
        try:
            expected: tuple[int, int, int, bytes] | None = _mf(mutated)
        except Exception:
            expected = None
        fast = cid_mod._read_canonical(mutated)
        if fast is not None:
            seen_fast += 1
            assert _fields(fast) == expected, mutated
        try:
            got: tuple[int, int, int, bytes] | None = _fields(Cid.parse(mutated))
        except ContentValueError:
            got = None
        assert got == expected, mutated
    assert seen_fast > 0  # some mutations stay valid CIDs (a changed digest character)


def test_non_minimal_varints_go_to_the_package() -> None:
    c = Cid.of(b"x", RAW)
    padded = b"\x01" + bytes([RAW | 0x80, 0x00]) + c.multihash  # codec 0x55 in two bytes
    assert cid_mod._read_canonical(padded) is None
    with pytest.raises(ContentValueError):
        Cid.parse(padded)


def test_sha256_with_a_short_digest_is_not_read_fast() -> None:
    raw = b"\x01" + bytes([RAW, SHA2_256, 20]) + b"\x01" * 20
    assert cid_mod._read_canonical(raw) is None
