"""Near-duplicate text: word shingles, MinHash signatures, LSH band keys and exact overlap."""

from __future__ import annotations

import functools
import hashlib
import itertools
import operator
import re
import unicodedata
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Words per shingle. Chosen by bench/stories.py --sweep: 3 to 6 words found as many copies;
#: with 4, a shared quote or name list is few shingles, and an edited word breaks only 4.
SHINGLE_WORDS = 4
#: LSH: MinHash signatures of BANDS bands of ROWS values. A text sharing Jaccard J with another
#: shares a band with probability 1 - (1 - J**3)**42: 0.68 at J=0.3, 0.996 at J=0.5, where a
#: copy trimmed to half its length sits; unrelated texts (J < 0.05) almost never do. Chosen by
#: bench/stories.py --sweep: 32x4 missed 20% of half-cut copies with ads and changed quotes;
#: 64x2 found 0.4% more copies for 1.5x the index rows (bench/README.md).
ROWS = 3
BANDS = 42
NUM_PERM = BANDS * ROWS
#: Two texts are copies of one story when this share of the shorter one's shingles is in the
#: longer one (containment). Chosen by bench/stories.py: wire-copy variants sit at 0.9-1.0,
#: distinct stories (421 NAEB, same-topic pairs among them) at 0.36 at most.
MIN_CONTAINMENT = 0.5
#: A text with fewer shingles than this (about 25 words) is not linked to anything: a caption
#: or a one-line brief shares too little to tell a copy from a coincidence.
MIN_SHINGLES = 20
#: Fixed seed: band keys stored by one process must be the keys every other process computes.
SEED = 20261202

_WORD = re.compile(r"[^\W_]+")
#: datasketch 2's default scheme, named: a later default must not change stored keys.
_SCHEME = "affine32"
#: MurmurHash3's 32-bit finaliser (shift, multiplier, shift, multiplier, shift), which
#: datasketch's affine32 scheme applies to every value before permuting it.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
#: One band's hashed bytes: its number (2 bytes, little-endian), then its ROWS signature
#: values as little-endian 64-bit integers.
_BAND_BYTES = 2 + 8 * ROWS


@functools.cache
def _tables() -> tuple[Any, Any, Any, Any]:
    """numpy and the permutations of datasketch 2's affine32 MinHash with our seed: odd
    multipliers ``a`` and offsets ``b`` (as columns), drawn exactly as
    ``datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")`` draws them
    (a test checks the two agree). Written out, not taken from datasketch: importing it
    (and scipy with it) cost a crawl ~0.5 CPU s and ~55 MB of RSS."""
    import numpy as np

    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    band = np.dtype([("band", "<u2"), ("rows", "<u8", (ROWS,))])
    assert band.itemsize == _BAND_BYTES
    return np, a[:, None].copy(), b[:, None].copy(), band


def words(text: str) -> list[str]:
    """The text's words, case-folded, compatibility-normalised (NFKC), punctuation dropped.

    Quotes, dashes, apostrophes and line breaks separate words and carry nothing, so
    "curly" and "straight" quotes, an em dash and ``--``, merged or split paragraphs give
    the same words.
    """
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


_encode = str.encode


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """32-bit hashes of the text's overlapping ``size``-word sequences (one, if it is shorter).

    CRC-32 (six times cheaper than a cryptographic hash here) is enough: the MinHash
    mixes each value (murmur3's finaliser) before permuting it, and it is the same in
    every process. Each hash is the CRC-32 of the UTF-8 of the words joined by one space.
    """
    tokens = words(text)
    if len(tokens) <= size:
        return frozenset((zlib.crc32(" ".join(tokens).encode()),)) if tokens else frozenset()
    # zip, join, encode and crc32 all mapped: no Python bytecode runs per shingle.
    runs = zip(*(tokens[i:] for i in range(size)))
    return frozenset(map(zlib.crc32, map(_encode, map(" ".join, runs))))


def signatures(sets: Sequence[Collection[int]]) -> np.ndarray:
    """The MinHash signatures (one row of ``NUM_PERM`` unsigned 32-bit values per set) of
    sets of 32-bit shingle hashes: the values datasketch 2's affine32 ``MinHash`` holds
    after ``update_batch(list(hashes))`` with our seed (all 2**32 - 1 for an empty set).

    The hashes of every set are mixed in one step; each set is then permuted in a buffer
    reused from set to set (as permutations x hashes: the minimum runs along memory).
    """
    np, a, b, _ = _tables()
    sizes = [len(s) for s in sets]
    out = np.full((len(sets), NUM_PERM), 0xFFFFFFFF, dtype=np.uint32)
    if not any(sizes):
        return out
    s1, m1, s2, m2, s3 = _FMIX32
    hv = np.fromiter(itertools.chain.from_iterable(sets), dtype=np.uint32, count=sum(sizes))
    hv ^= hv >> s1
    hv *= np.uint32(m1)  # wraps around: arithmetic modulo 2**32, as murmur3's
    hv ^= hv >> s2
    hv *= np.uint32(m2)
    hv ^= hv >> s3
    buffer = np.empty(NUM_PERM * max(sizes), dtype=np.uint32)
    start = 0
    for row, size in enumerate(sizes):
        if size:
            permuted = buffer[: NUM_PERM * size].reshape(NUM_PERM, size)
            np.multiply(a, hv[start : start + size], out=permuted)
            np.add(permuted, b, out=permuted)
            permuted.min(axis=1, out=out[row])
            start += size
    return out


def signature(hashes: Iterable[int]) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` values) of a set of 32-bit shingle hashes."""
    return signatures([list(hashes)])[0]


_blake2b8 = functools.partial(hashlib.blake2b, digest_size=8)
_digest = operator.methodcaller("digest")


def band_key_rows(sigs: np.ndarray) -> list[list[int]]:
    """:func:`band_keys` of every row of ``sigs`` (signatures as :func:`signatures` gives them)."""
    np, _, _, band = _tables()
    count = len(sigs)
    if not count:
        return []
    records = np.empty((count, BANDS), dtype=band)
    records["band"] = np.arange(BANDS)
    records["rows"] = np.asarray(sigs)[:, : BANDS * ROWS].reshape(count, BANDS, ROWS)
    chunks = records.view(f"V{_BAND_BYTES}").ravel().tolist()  # one bytes object per band
    digests = b"".join(map(_digest, map(_blake2b8, chunks)))
    return np.frombuffer(digests, dtype="<i8").reshape(count, BANDS).tolist()


def band_keys(sig: np.ndarray, rows: int = ROWS) -> list[int]:
    """One signed 64-bit key per LSH band: texts sharing a key are candidates for each other.

    The key of band ``k`` is the first 8 bytes (little-endian, signed) of the BLAKE2b
    digest of ``k`` as 2 little-endian bytes followed by its ``rows`` values as
    little-endian 64-bit integers.
    """
    if rows == ROWS and len(sig) == NUM_PERM:
        return band_key_rows(sig[None, :])[0]
    keys = []
    for band in range(len(sig) // rows):
        chunk = band.to_bytes(2, "little") + sig[band * rows : (band + 1) * rows].astype("<u8").tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


@dataclass(frozen=True)
class Overlap:
    """How two shingle sets overlap: ``contained`` = share of the first found in the second,
    ``covers`` = share of the second found in the first."""

    shared: int
    contained: float
    covers: float

    @property
    def containment(self) -> float:
        """Share of the smaller text found in the larger one."""
        return max(self.contained, self.covers)

    @property
    def jaccard(self) -> float:
        if not self.shared:
            return 0.0
        first, second = self.shared / self.contained, self.shared / self.covers
        return self.shared / (first + second - self.shared)


def overlap(first: frozenset[int], second: frozenset[int]) -> Overlap:
    """Exact overlap of two shingle sets (empty sets overlap nothing)."""
    if not first or not second:
        return Overlap(0, 0.0, 0.0)
    shared = len(first & second)
    return Overlap(shared, shared / len(first), shared / len(second))


def is_copy(first: frozenset[int], second: frozenset[int], threshold: float = MIN_CONTAINMENT) -> bool:
    """True when the two texts are copies of one story (see :data:`MIN_CONTAINMENT`)."""
    if min(len(first), len(second)) < MIN_SHINGLES:
        return False
    return overlap(first, second).containment >= threshold
