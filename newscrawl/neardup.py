"""Near-duplicate text: word shingles, MinHash signatures, LSH band keys and exact overlap."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

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
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=_SCHEME).permutations


def words(text: str) -> list[str]:
    """The text's words, case-folded, compatibility-normalised (NFKC), punctuation dropped.

    Quotes, dashes, apostrophes and line breaks separate words and carry nothing, so
    "curly" and "straight" quotes, an em dash and ``--``, merged or split paragraphs give
    the same words.
    """
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """32-bit hashes of the text's overlapping ``size``-word sequences (one, if it is shorter).

    CRC-32 (six times cheaper than a cryptographic hash here) is enough: datasketch mixes
    each value (murmur3's finaliser) before permuting it, and it is the same in every process.
    """
    tokens = words(text)
    if not tokens:
        return frozenset()
    spans = range(max(len(tokens) - size + 1, 1))
    return frozenset(zlib.crc32(" ".join(tokens[i : i + size]).encode()) for i in spans)


def _identity(value: int) -> int:
    return value


def signature(hashes: Iterable[int]) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` values) of a set of 32-bit shingle hashes."""
    minhash = MinHash(
        num_perm=NUM_PERM, hashfunc=_identity, permutations=_PERMUTATIONS, scheme=_SCHEME
    )
    minhash.update_batch(list(hashes))
    return minhash.hashvalues


def band_keys(sig: np.ndarray, rows: int = ROWS) -> list[int]:
    """One signed 64-bit key per LSH band: texts sharing a key are candidates for each other."""
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
