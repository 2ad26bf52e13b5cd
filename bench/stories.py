"""Story clustering: recall per kind of wire-copy edit, precision on distinct stories, and cost.

Not a test: run it by hand, e.g.::

    .venv/bin/python bench/stories.py quality
    .venv/bin/python bench/stories.py quality --sweep
    .venv/bin/python bench/stories.py cost                       # 10k and 100k, both backends
    .venv/bin/python bench/stories.py cost --sizes 10000 --backends sqlite

**quality** takes real article texts: the reviewed bodies of the real pages in
``tests/sites/*/`` and the 421 NAEB articles (the truth in ``tests/data/naeb/``, or
``ground-truth.json`` of the public article-extraction dataset with ``--naeb DIR``). From every text long
enough to cluster it makes one syndication variant per kind of change sites make to wire copy
(:data:`KINDS`), and counts a variant found when the real clustering
(:mod:`newscrawl.neardup`: LSH band keys shared, then containment verified) links it to its
original. Precision: every pair of the distinct originals (no two may be linked), and the
same-topic pairs among them (the pairs sharing the most content words, which are different
stories about the same thing); each variant must also link to nothing but its original.
``--sweep`` prints recall and false links for other shingle sizes and containment thresholds:
that table is how :data:`newscrawl.neardup.SHINGLE_WORDS` and ``MIN_CONTAINMENT`` were chosen.

**cost** fills a database through the real schema with synthetic articles (bench_query's
generator) and their real band keys, to 10k and 100k articles, then times clustering new
articles (the store's hook: candidates, verification, membership) and the band lookup alone,
on SQLite and PostgreSQL, with CPU time and the load average beside every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from newscrawl import neardup  # noqa: E402


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


# --- Real texts ---------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """One real article: where it comes from, its headline and its body (paragraphs)."""

    key: str
    title: str
    body: str

    def paragraphs(self) -> list[str]:
        return [p for p in re.split(r"\n\s*\n|\n", self.body) if p.strip()]


def test_texts() -> list[Text]:
    """The reviewed bodies of the real pages in tests/sites (bodies.json, expected.json)."""
    texts: dict[str, Text] = {}
    for site in sorted((ROOT / "tests" / "sites").iterdir()):
        bodies = site / "bodies.json"
        if bodies.exists():
            for path, entry in json.loads(bodies.read_text()).items():
                texts[f"{site.name}{path}"] = Text(f"{site.name}{path}", "", entry["body"])
        expected = site / "expected.json"
        if expected.exists():
            data = json.loads(expected.read_text())
            for row in data.get("stored", []):
                key = f"{site.name}{row['path']}"
                if row.get("body") and key not in texts:
                    texts[key] = Text(key, row.get("title") or "", row["body"])
    # The same real page can sit in two sites' fixtures (a site spider's and the generic
    # spider's): those are copies of one story, so keep one of each.
    unique: list[tuple[Text, frozenset[int]]] = []
    for text in texts.values():
        sh = neardup.shingles(text.body)
        if not any(neardup.is_copy(sh, other, 0.8) for _, other in unique):
            unique.append((text, sh))
    return [text for text, _ in unique]


def naeb_texts(folder: Path | None) -> list[Text]:
    """The NAEB articles whose page is kept (421 of the 424 truths): the repository's copy, or ``folder``'s."""
    if folder is None:
        from tests.support import naeb

        truth = naeb.truth()
        present = set(naeb.html_pages())
    else:
        truth = json.loads((folder / "ground-truth.json").read_text())
        present = {p.name.split(".")[0] for p in (folder / "html").glob("*.html.gz")}
    return [
        Text(f"naeb/{key}", value["title"], value["articleBody"])
        for key, value in sorted(truth.items())
        if key in present and value["articleBody"].strip()
    ]


# --- Syndication variants -------------------------------------------------------

BOILERPLATE = (
    "Advertisement",
    "ADVERTISEMENT",
    "Story continues below advertisement",
    "Read more: Our coverage of this story",
    "Sign up for our daily politics newsletter.",
    "Follow us on Facebook and Twitter",
    "RELATED STORIES",
)
FILLER = (
    "Local officials said they were monitoring the situation closely and would provide an "
    "update to residents later in the week, according to a statement posted on the city's website."
)


def _join(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def new_headline(text: Text, rng: random.Random) -> tuple[str, str]:
    return "UPDATE 2-" + " ".join(reversed(text.title.split())), text.body


def cut_first(text: Text, rng: random.Random) -> tuple[str, str]:
    paras = text.paragraphs()
    cut = 1 if len(paras) < 6 else 2
    return text.title, _join(paras[cut:])


def cut_last(text: Text, rng: random.Random) -> tuple[str, str]:
    # Sites trim wire copy from the bottom, often to about half.
    paras = text.paragraphs()
    keep = max(1, (len(paras) + 1) // 2)
    return text.title, _join(paras[:keep])


def paragraph_added(text: Text, rng: random.Random) -> tuple[str, str]:
    paras = text.paragraphs()
    at = rng.randrange(1, len(paras) + 1)
    return text.title, _join(paras[:at] + [FILLER] + paras[at:]) + "\n\n" + FILLER.replace("city", "county")


def boilerplate(text: Text, rng: random.Random) -> tuple[str, str]:
    out: list[str] = []
    for number, para in enumerate(text.paragraphs()):
        out.append(para)
        if number % 3 == 1:
            out.append(rng.choice(BOILERPLATE))
    return text.title, _join(out)


_STRAIGHTEN = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "—": "--", "–": "-", "…": "..."})


def punctuation(text: Text, rng: random.Random) -> tuple[str, str]:
    body = text.body
    if any(c in body for c in "“”‘’—–…"):
        return text.title, body.translate(_STRAIGHTEN)
    body = re.sub(r'"([^"]*)"', "“\\1”", body)
    body = re.sub(r"(\w)'(\w)", "\\1’\\2", body)
    body = body.replace(" - ", " — ").replace("--", "—").replace("...", "…")
    return text.title, body.replace(". ", ".  ")


_EDITS = {"said": "says", "the": "a", "Mr.": "Mr", "percent": "%", "and": "&", "to": "towards"}


def words_edited(text: Text, rng: random.Random) -> tuple[str, str]:
    # A few copy-desk edits: one word in 40 replaced, dropped or spelled differently.
    tokens = text.body.split(" ")
    for _ in range(max(3, len(tokens) // 40)):
        i = rng.randrange(len(tokens))
        word = tokens[i]
        choice = rng.random()
        if word in _EDITS:
            tokens[i] = _EDITS[word]
        elif choice < 0.4:
            tokens[i] = ""
        elif choice < 0.7:
            tokens[i] = word[::-1]
        else:
            tokens[i] = word + " reportedly"
    return text.title, re.sub(r" {2,}", " ", " ".join(tokens))


def merged(text: Text, rng: random.Random) -> tuple[str, str]:
    paras = text.paragraphs()
    return text.title, _join([" ".join(paras[i : i + 2]) for i in range(0, len(paras), 2)])


def combined(text: Text, rng: random.Random) -> tuple[str, str]:
    """What a real site often does at once: new headline, bottom trimmed, ads, quotes changed."""
    step = Text(text.key, *new_headline(text, rng))
    step = Text(text.key, *cut_last(step, rng))
    step = Text(text.key, *boilerplate(step, rng))
    return punctuation(step, rng)


KINDS: dict[str, Callable[[Text, random.Random], tuple[str, str]]] = {
    "new headline": new_headline,
    "first paragraphs cut": cut_first,
    "last half cut": cut_last,
    "paragraph added": paragraph_added,
    "boilerplate lines": boilerplate,
    "quotes/dashes": punctuation,
    "words edited": words_edited,
    "paragraphs merged": merged,
    "all of headline+cut+ads+quotes": combined,
}


# --- Quality ---------------------------------------------------------------------

#: Bandings tried by --sweep (bands x rows), each the first bands*rows values of one
#: 128-value signature (the first k permutations of a MinHash are a MinHash of k).
BANDINGS = ((64, 2), (42, 3), (32, 4), (25, 5), (21, 6))
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


#: The banding the store uses, decided with the band keys it stores (newscrawl.neardup).
STORE = "store"
from datasketch import MinHash  # noqa: E402  (the sweep's own 128-value signatures)

_SWEEP_PERMUTATIONS = MinHash(num_perm=128, seed=1, scheme="affine32").permutations


@dataclass
class Indexed:
    key: str
    shingles: frozenset[int]
    sig: np.ndarray  # 128 values, for the sweep's bandings
    keys: frozenset[int]  # the store's band keys


def index(key: str, body: str, size: int) -> Indexed:
    sh = neardup.shingles(body, size)
    minhash = MinHash(num_perm=128, hashfunc=int,
                              permutations=_SWEEP_PERMUTATIONS, scheme="affine32")
    minhash.update_batch(list(sh))
    return Indexed(key, sh, minhash.hashvalues, frozenset(neardup.band_keys(neardup.signature(sh))))


def flags(a: Indexed, b: Indexed) -> dict:
    out: dict = {banding: bool(share_band(a.sig, b.sig, *banding)) for banding in BANDINGS}
    out[STORE] = bool(a.keys & b.keys)
    return out


def share_band(a: np.ndarray, b: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Whether signature ``a`` shares a whole band with each signature row of ``b``."""
    n = bands * rows
    same = (b[..., :n] == a[:n]).reshape(*b.shape[:-1], bands, rows)
    return same.all(axis=-1).any(axis=-1)


_STOP = set(
    "the of and to a in that is was for on with as by at from it has said have be his her its an "
    "not but which their they were would had been this will are who also more after over than "
    "other into about when some there can could may while such only one two new last first "
    "since before during against between under most many those these both he she we i you our "
    "what if or so no all out up do just year years people time".split()
)


def topic_pairs(texts: list[Text], count: int) -> list[tuple[int, int, float]]:
    """The ``count`` pairs of texts sharing the most content words (same topic, other story)."""
    vocab = [set(neardup.words(t.body)) - _STOP for t in texts]
    scored = []
    for i, j in combinations(range(len(texts)), 2):
        if vocab[i] and vocab[j]:
            scored.append((i, j, len(vocab[i] & vocab[j]) / len(vocab[i] | vocab[j])))
    scored.sort(key=lambda item: -item[2])
    return scored[:count]


@dataclass
class Measured:
    """Everything the decisions depend on, for one shingle size: per variant its containment
    in its original and which bandings make it a candidate; per pair of distinct stories the
    same; and the variants' candidates among the other originals."""

    usable: int
    variants: list[tuple[str, str, float, dict[tuple[int, int], bool]]]
    pairs: list[tuple[str, str, float, dict[tuple[int, int], bool], bool]]
    strays: list[tuple[str, str, float, dict[tuple[int, int], bool]]]


def measure(texts: list[Text], distinct: list[Text], topics: set[tuple[str, str]], size: int) -> Measured:
    usable = [t for t in texts if len(neardup.shingles(t.body, size)) >= neardup.MIN_SHINGLES
              and len(t.paragraphs()) >= 3]
    originals = [index(t.key, t.body, size) for t in usable]
    matrix = np.stack([o.sig for o in originals])
    variants, strays = [], []
    for kind, make in KINDS.items():
        for number, text in enumerate(usable):
            _, body = make(text, random.Random(f"{kind}/{text.key}"))
            variant = index(text.key, body, size)
            if len(variant.shingles) < neardup.MIN_SHINGLES:
                variants.append((kind, text.key, 0.0, {b: False for b in (*BANDINGS, STORE)}))
                continue
            value = neardup.overlap(variant.shingles, originals[number].shingles).containment
            variants.append((kind, text.key, value, flags(variant, originals[number])))
            loosest = share_band(variant.sig, matrix, *BANDINGS[0])
            for other in np.flatnonzero(loosest):
                if other != number:
                    o = originals[other]
                    strays.append((kind, o.key, neardup.overlap(variant.shingles, o.shingles).containment,
                                   flags(variant, o)))
    indexed = [index(t.key, t.body, size) for t in distinct]
    dmatrix = np.stack([d.sig for d in indexed])
    pairs = []
    for i, a in enumerate(indexed):
        rest = dmatrix[i + 1 :]
        flags_by = {b: share_band(a.sig, rest, *b) for b in BANDINGS}
        for offset, c in enumerate(indexed[i + 1 :]):
            small = min(len(a.shingles), len(c.shingles)) >= neardup.MIN_SHINGLES
            value = neardup.overlap(a.shingles, c.shingles).containment if small else 0.0
            pair_flags: dict = {b: bool(flags_by[b][offset]) for b in BANDINGS}
            pair_flags[STORE] = bool(a.keys & c.keys)
            pairs.append((a.key, c.key, value, pair_flags, (a.key, c.key) in topics))
    return Measured(len(usable), variants, pairs, strays)


def decide(m: Measured, threshold: float, banding: object) -> dict:
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: dict[str, list[str]] = defaultdict(list)
    reasons: Counter[str] = Counter()
    for kind, key, value, flags in m.variants:
        recall[kind][1] += 1
        if flags[banding] and value >= threshold:
            recall[kind][0] += 1
        else:
            misses[kind].append(key)
            why = "too short" if value == 0.0 else "no shared band" if not flags[banding] else "containment"
            reasons[why] += 1
    false_pairs = [(a, b, v) for a, b, v, flags, _ in m.pairs if flags[banding] and v >= threshold]
    topic_links = [(a, b, v) for a, b, v, flags, topic in m.pairs if topic and flags[banding] and v >= threshold]
    strays = [(kind, key, v) for kind, key, v, flags in m.strays if flags[banding] and v >= threshold]
    found = sum(f for f, _ in recall.values())
    true_links = found
    wrong = len(false_pairs) + len(strays)
    return {
        "recall": dict(recall),
        "misses": misses,
        "reasons": reasons,
        "found": found,
        "total": sum(n for _, n in recall.values()),
        "false_pairs": false_pairs,
        "topic_links": topic_links,
        "strays": strays,
        "precision": true_links / (true_links + wrong) if true_links + wrong else 1.0,
        "pair_candidates": sum(flags[banding] for *_, flags, _ in m.pairs),
    }


def print_quality(m: Measured, d: dict, size: int, threshold: float, n_distinct: int, n_topics: int) -> None:
    pairs = len(m.pairs)
    max_all = max((v for _, _, v, _, _ in m.pairs), default=0.0)
    max_topic = max((v for _, _, v, _, t in m.pairs if t), default=0.0)
    print(f"shingles of {size} words, containment >= {threshold}, LSH {neardup.BANDS} bands x "
          f"{neardup.ROWS} rows (the store's band keys); {m.usable} texts with >= {neardup.MIN_SHINGLES} shingles and >= 3 "
          f"paragraphs ({load()})")
    print()
    print("| kind of change | found | recall | lowest containment in the original |")
    print("|---|---:|---:|---:|")
    for kind, (found, n) in d["recall"].items():
        lowest = min(v for k, _, v, _ in m.variants if k == kind)
        print(f"| {kind} | {found}/{n} | {found / n:.3f} | {lowest:.3f} |")
    print(f"| **all kinds** | {d['found']}/{d['total']} | {d['found'] / d['total']:.3f} |")
    print()
    print(f"distinct stories: {n_distinct} ({pairs:,} pairs): {len(d['false_pairs'])} linked; "
          f"{d['pair_candidates']} pairs share a band (verification rejects them); largest "
          f"containment of any pair {max_all:.3f}")
    print(f"same-topic pairs (the {n_topics} sharing the most content words): "
          f"{len(d['topic_links'])} linked; largest containment {max_topic:.3f}")
    closest = sorted(((v, a, b) for a, b, v, _, t in m.pairs if t), reverse=True)[:5]
    for value, a, b in closest:
        print(f"   closest same-topic pair: containment {value:.3f}: {TITLES.get(a, a)[:60]!r} / {TITLES.get(b, b)[:60]!r}")
    print(f"variants linked to another story than their original: {len(d['strays'])}")
    print(f"precision (true links / links made): {d['precision']:.4f}; recall {d['found'] / d['total']:.4f}")
    for pair in d["false_pairs"][:10]:
        print("   wrongly linked:", pair)
    print("misses by cause: " + ", ".join(f"{why} {n}" for why, n in d["reasons"].most_common())
          + f" (too short: under {neardup.MIN_SHINGLES} shingles once cut)")
    for kind, keys in d["misses"].items():
        print(f"   missed ({kind}, {len(keys)}): {', '.join(keys[:4])}{' …' if len(keys) > 4 else ''}")


TITLES: dict[str, str] = {}


def run_quality(args: argparse.Namespace) -> None:
    texts = test_texts()
    naeb = naeb_texts(Path(args.naeb) if args.naeb else None)
    distinct = naeb + texts
    TITLES.update({t.key: t.title or t.key for t in distinct})
    print(f"{len(texts)} real texts from tests/, {len(naeb)} NAEB texts")
    texts = texts + naeb
    topics_idx = topic_pairs(distinct, args.topics)
    topics = {(distinct[i].key, distinct[j].key) for i, j, _ in topics_idx}
    print("same-topic pairs, e.g.: " + "; ".join(
        f"{distinct[i].title[:50]!r} / {distinct[j].title[:50]!r}" for i, j, _ in topics_idx[:3]))
    if args.sweep:
        print("| shingle words | bands x rows | containment | recall | worst kind | wrong links | precision |")
        print("|---:|---|---:|---:|---|---:|---:|")
        for size in (3, 4, 5, 6):
            m = measure(texts, distinct, topics, size)
            for banding in BANDINGS:
                for threshold in THRESHOLDS:
                    d = decide(m, threshold, banding)
                    worst = min(d["recall"].items(), key=lambda kv: kv[1][0] / kv[1][1])
                    wrong = len(d["false_pairs"]) + len(d["strays"])
                    print(f"| {size} | {banding[0]}x{banding[1]} | {threshold} | "
                          f"{d['found'] / d['total']:.3f} | {worst[0]} {worst[1][0] / worst[1][1]:.3f} | "
                          f"{wrong} | {d['precision']:.4f} |", flush=True)
        print(load())
        return
    m = measure(texts, distinct, topics, neardup.SHINGLE_WORDS)
    d = decide(m, neardup.MIN_CONTAINMENT, STORE)
    print_quality(m, d, neardup.SHINGLE_WORDS, neardup.MIN_CONTAINMENT, len(distinct), len(topics))


# --- Cost ------------------------------------------------------------------------


def band_matrix(url: str) -> tuple[list[int], np.ndarray]:
    """Article ids and their band keys (one row of BANDS keys per article)."""
    from sqlalchemy import select

    from newscrawl.db import ArticleRow, open_database

    engine = open_database(url)
    ids, keys = [], []
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=2000).execute(select(ArticleRow.id, ArticleRow.body).order_by(ArticleRow.id)):
            ids.append(row.id)
            keys.append(neardup.band_keys(neardup.signature(neardup.shingles(row.body))))
    engine.dispose()
    return ids, np.array(keys, dtype=np.int64)


def index_archive(url: str, ids: list[int], keys: np.ndarray, batch: int = 5000) -> float:
    """Write every article's story (one each: the synthetic texts are distinct) and band keys."""
    from sqlalchemy import insert, select, text

    from newscrawl.db import ArticleRow, open_database
    from newscrawl.db.models import Story, StoryBand, StoryMember

    engine = open_database(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        published = dict(conn.execute(select(ArticleRow.id, ArticleRow.published_at)).all())
        now = datetime.now(timezone.utc)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            conn.execute(insert(Story), [{"id": i, "origin_id": i, "published_at": published[i], "updated_at": now} for i in chunk])
            conn.execute(insert(StoryMember), [{"article_id": i, "story_id": i} for i in chunk])
            rows = [{"key": int(k), "article_id": i} for i, row in zip(chunk, keys[start : start + batch]) for k in set(row.tolist())]
            conn.execute(insert(StoryBand), rows)
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('stories', 'id'), (SELECT max(id) FROM stories))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def probes(url: str, count: int, seed: int) -> list[dict]:
    """``count`` new articles: half trimmed copies of stored ones (an hour later), half new texts."""
    from sqlalchemy import func, select

    from bench_query import synthetic_articles
    from newscrawl.db import ArticleRow, open_database

    engine = open_database(url)
    rng = random.Random(seed)
    with engine.connect() as conn:
        top = conn.scalar(select(func.max(ArticleRow.id)))
        picks = rng.sample(range(1, top + 1), count // 2)
        stored = conn.execute(select(ArticleRow).where(ArticleRow.id.in_(picks))).mappings().all()
    engine.dispose()
    out = []
    for row in stored:
        copy = {k: v for k, v in row.items() if k != "id"}
        paras = copy["body"].split("\n\n")
        copy.update(url=copy["url"] + "/copy", source="bench-copy", body="\n\n".join(paras[: max(1, len(paras) * 2 // 3)]),
                    published_at=copy["published_at"] + timedelta(hours=1), original=row["id"])
        out.append(copy)
    for row in synthetic_articles(count - len(out), seed + 1, (300, 800)):
        row.update(url=row["url"] + "/new", original=None)
        out.append(row)
    return out  # batches of copies first, then batches of new texts


def time_clustering(url: str, articles: list[dict], batch: int = 50) -> dict[str, list[float]]:
    """Per article: the band lookup alone (one article's candidates), and the store hook's
    whole clustering of batches of ``batch`` articles (the store's batch size), per article."""
    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from newscrawl.db import ArticleRow, open_database
    from newscrawl.db.models import StoryMember
    from newscrawl.db.stories import _articles, _candidates, cluster_urls

    engine = open_database(url)
    result: dict[str, list[float]] = defaultdict(list)
    for start in range(0, len(articles), batch):
        rows = [{k: v for k, v in a.items() if k != "original"} for a in articles[start : start + batch]]
        urls = [r["url"] for r in rows]
        with Session(engine) as session, session.begin():
            session.execute(insert(ArticleRow), rows)
            for article in _articles(session, ArticleRow.url.in_(urls)):
                started = time.perf_counter()
                _candidates(session, article)
                result["lookup"].append((time.perf_counter() - started) * 1000)
        with Session(engine) as session, session.begin():
            wall, cpu = time.perf_counter(), time.process_time()
            cluster_urls(session, urls)
            kind = "copies" if articles[start]["original"] is not None else "new"
            result[f"cluster {kind}"].append((time.perf_counter() - wall) * 1000 / len(rows))
            result[f"cluster {kind} CPU"].append((time.process_time() - cpu) * 1000 / len(rows))
    linked = 0
    with engine.connect() as conn:
        story = dict(conn.execute(select(StoryMember.article_id, StoryMember.story_id)).all())
        ids = dict(conn.execute(select(ArticleRow.url, ArticleRow.id).where(ArticleRow.url.in_([a["url"] for a in articles]))).all())
    engine.dispose()
    copies = [a for a in articles if a["original"] is not None]
    linked = sum(story[ids[a["url"]]] == story[a["original"]] for a in copies)
    print(f"#   copies linked to their original: {linked}/{len(copies)}; new texts in a story of "
          f"their own: {sum(1 for a in articles if a['original'] is None and list(story.values()).count(story[ids[a['url']]]) == 1)}/{len(articles) - len(copies)}", flush=True)
    return result


def run_cost(args: argparse.Namespace) -> None:
    import tempfile
    import uuid
    from contextlib import ExitStack

    from bench_query import fill, percentile, postgres_database

    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    results = []
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        pg_server = args.pg_url
        if "postgresql" in backends and not pg_server:
            from tests.support.postgres import throwaway_cluster

            pg_server = stack.enter_context(throwaway_cluster())
        for size in sizes:
            cached: tuple[list[int], np.ndarray] | None = None
            for backend in backends:
                with ExitStack() as db:
                    if backend == "sqlite":
                        url = f"sqlite:///{workdir / f'stories-{size}.db'}"
                    else:
                        url = db.enter_context(postgres_database(pg_server, f"stories_bench_{size}_{uuid.uuid4().hex[:6]}"))
                    seconds = fill(url, size, args.seed, (300, 800))
                    if cached is None:
                        cpu = time.process_time()
                        cached = band_matrix(url)
                        per = (time.process_time() - cpu) / size * 1000
                        print(f"# shingles + MinHash + band keys: {per:.2f} ms CPU per article ({load()})", flush=True)
                    seconds += index_archive(url, *cached)
                    print(f"# {backend}: {size:,} articles and {size * neardup.BANDS:,} band keys written in {seconds:.0f} s ({load()})", flush=True)
                    timings = time_clustering(url, probes(url, args.probes, args.seed))
                    for op, values in timings.items():
                        results.append((backend, size, op, percentile(values, 50), percentile(values, 95), statistics.mean(values)))
                        print(f"# {backend} {size} {op}: p50 {results[-1][3]:.2f} ms, p95 {results[-1][4]:.2f} ms, "
                              f"mean {results[-1][5]:.2f} ms ({load()})", flush=True)
                    if backend == "sqlite":
                        for stale in workdir.glob(f"stories-{size}.db*"):
                            stale.unlink()
    print()
    print("lookup: one article's candidate query; cluster new / copies (CPU): wall (CPU) time per")
    print("article of the store hook on batches of 50 new texts / 50 copies of stored articles")
    print("| backend | articles | measure | p50 ms | p95 ms | mean ms |")
    print("|---|---:|---|---:|---:|---:|")
    for backend, size, op, p50, p95, mean in results:
        print(f"| {backend} | {size:,} | {op} | {p50:.2f} | {p95:.2f} | {mean:.2f} |")
    by = {(b, s, o): (p50, p95) for b, s, o, p50, p95, _ in results}
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        for backend in backends:
            for op in ("lookup", "cluster new", "cluster new CPU", "cluster copies", "cluster copies CPU"):
                a, b = by.get((backend, small, op)), by.get((backend, large, op))
                if a and b:
                    print(f"growth {small:,} -> {large:,} {backend} {op}: p50 x{b[0] / a[0]:.2f}, p95 x{b[1] / a[1]:.2f}")
    print(load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--naeb", metavar="DIR", help="another NAEB folder (ground-truth.json, html/); default: tests/data/naeb")
    q.add_argument("--sweep", action="store_true", help="try other shingle sizes, bandings, thresholds")
    q.add_argument("--topics", type=int, default=300, help="same-topic pairs to hold apart")
    q.set_defaults(func=run_quality)
    c = sub.add_parser("cost")
    c.add_argument("--sizes", default="10000,100000")
    c.add_argument("--backends", default="sqlite,postgresql")
    c.add_argument("--pg-url")
    c.add_argument("--probes", type=int, default=1000, help="new articles clustered per archive (batches of 50)")
    c.add_argument("--seed", type=int, default=20261202)
    c.set_defaults(func=lambda a: run_cost(a))
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
