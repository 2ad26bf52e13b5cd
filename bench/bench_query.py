"""Search and list latency on synthetic archives of 10k and 100k articles (SQLite and PostgreSQL).

Not a test: run it by hand, e.g.::

    .venv/bin/python bench/bench_query.py                       # 10k and 100k, both backends
    .venv/bin/python bench/bench_query.py --sizes 10000 --backends sqlite
    .venv/bin/python bench/bench_query.py --pg-url postgresql+psycopg://user@host/db

Articles are political-news-like text drawn from word lists (function words,
general political vocabulary and per-topic words, so a topic word occurs in a
realistic share of articles), 300-800 words each, inserted in bulk through the
real schema (migrations, FTS triggers, generated tsvector). Each size then runs
the same ~50 searches (words, phrases, prefixes, with and without filters) and
~50 filtered listings through :mod:`newscrawl.query`, and prints p50/p95, each
figure with the load average beside it. Beside wall time, a steadier figure: the
search's CPU time on SQLite (it runs in this process), the shared buffers each
search touches on PostgreSQL. And the quality of the results against ranking
every match (the exact top 20, fetched and sorted here): identical top 20s,
mean top-20 overlap, mean NDCG@20 with the exact scores as gains. With two
sizes, the growth from the smaller to the larger is printed.
Without ``--pg-url`` a throwaway PostgreSQL cluster is started (tests/support); with it and
``--keep``, each size's archive is kept on the server and reused by the next run.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, func, insert, select, text, true  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from newscrawl import query  # noqa: E402
from newscrawl.db import ArticleRow, open_database  # noqa: E402

FUNCTION_WORDS = (
    "the of and to a in that is was for on with as by at from it has said have be his her "
    "its an not but which their they were would had been this will are who also more after "
    "over than other into about when some there can could may while such only one two new "
    "last first since before during against between under most many those these both"
).split()
POLITICS = (
    "government minister ministry party parliament lawmakers cabinet policy election vote "
    "voters campaign coalition opposition ruling leader leadership official officials "
    "spokesperson statement press conference committee budget proposal bill law legislation "
    "reform debate session upper lower house chamber senate council national local regional "
    "governor mayor prefecture administration support approval rating poll survey public "
    "citizens economy economic growth inflation prices wages tax taxes spending fiscal deficit "
    "debt bond market markets trade exports imports tariffs industry companies business "
    "security defense military forces troops alliance allies treaty talks summit meeting "
    "agreement negotiations diplomatic diplomacy foreign relations bilateral international "
    "region regional tensions dispute border maritime waters islands sovereignty sanctions "
    "pressure criticism concerns warned urged called announced plans plan decision decided "
    "expected likely agreed rejected approved signed pledged vowed promised denied confirmed "
    "scandal investigation prosecutors court ruling judge constitution amendment rights "
    "freedom democracy democratic liberal conservative faction factions secretary general "
    "chief deputy senior former current next week month year years day Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday morning evening spokesman reporters interview "
    "according sources people country countries nation nations world global state states"
).split()
TOPICS = {
    "defense": "defense missile missiles destroyer fighter jets deterrence counterstrike "
    "capabilities procurement spending Pentagon drills exercises radar shipbuilding",
    "china": "China Beijing Chinese Xi Taiwan strait coast guard Senkaku vessels incursions "
    "assertiveness Communist delegation ambassador",
    "energy": "energy nuclear reactors reactor restart utilities electricity grid renewable "
    "solar wind LNG emissions decarbonization carbon",
    "economy": "stimulus package yen weaker currency intervention central bank rates "
    "interest inflation wage hikes consumption households subsidies",
    "imperial": "imperial family succession princess emperor household agency throne "
    "female lineage panel consensus",
    "election": "election snap dissolve dissolution candidates constituencies turnout ballots "
    "seats majority landslide campaign rally",
    "scandal": "slush funds kickbacks fundraising political funds accounting prosecutors "
    "indicted resign resignation apology ethics",
    "korea": "Korea Seoul Pyongyang North South Korean missile launch summit Yoon "
    "abductees abductions wartime labor",
    "russia": "Russia Moscow Russian Ukraine war Kremlin sanctions gas Sakhalin invasion "
    "reconstruction aid",
    "trade": "trade tariffs exports semiconductors chips supply chains WTO Mercosur "
    "agriculture farmers rice beef negotiations",
    "social": "childcare birthrate declining population aging pensions welfare "
    "immigration foreign workers visas labor shortage",
    "tech": "social media platforms minors age verification artificial intelligence AI "
    "cybersecurity data privacy regulation",
}
NAMES = (
    "Takaichi Kishida Ishiba Koizumi Motegi Hayashi Kono Suga Noda Edano Tamaki Baba "
    "Akazawa Nakatani Kato Saito Yamaguchi Ozawa Aso Nikai Hagiuda Kamikawa Iwaya Ito"
).split()
SOURCES = ("japantoday", "kyodo", "reuters", "nhkworld", "asahi")
CREDITS = ("Kyodo", "Reuters", "AP", "AFP", "Jiji", "Japan Today", None)
AUTHORS = (
    "Haruto Kisaragi",
    "Lena Ortiz",
    "Mari Yamamoto",
    "Ken Sato",
    "Aiko Tanaka",
    "John Miller",
    "Sarah Chen",
    "Daisuke Ito",
    "Emma Brown",
    "Yuki Mori",
)
START = datetime(2023, 1, 1, tzinfo=timezone.utc)
SPAN_SECONDS = int((datetime(2026, 7, 1, tzinfo=timezone.utc) - START).total_seconds())

SEARCHES = [
    # single words, common to rare
    "government",
    "defense",
    "election",
    "reactors",
    "tariffs",
    "succession",
    "Pyongyang",
    "semiconductors",
    "childcare",
    "kickbacks",
    "Takaichi",
    "Senkaku",
    "Mercosur",
    "decarbonization",
    "abductees",
    # several words (all must match)
    "defense budget",
    "nuclear restart",
    "China coast guard",
    "tax wages households",
    "imperial panel consensus",
    "Russia sanctions gas",
    "election turnout seats",
    "AI regulation",
    "trade farmers rice",
    "Kishida cabinet approval",
    # phrases
    '"prime minister"',
    '"coast guard"',
    '"social media"',
    '"interest rates"',
    '"foreign workers"',
    '"slush funds"',
    '"age verification"',
    '"supply chains"',
    '"wage hikes"',
    '"snap election"',
    # prefixes
    "defen*",
    "elect*",
    "nucl*",
    "sanct*",
    "semicon*",
    "Kishi*",
    "imper*",
    "tarif*",
    '"prime min"*',
    "abduct*",
    # with filters
    ("defense", {"source": "kyodo"}),
    ("election", {"since": date(2026, 1, 1)}),
    ('"coast guard"', {"credit": "Reuters"}),
    ("nucl*", {"source": "reuters", "since": date(2025, 6, 1)}),
    ("Takaichi", {"author": "ortiz"}),
]


def _words(rng: random.Random, count: int, topics: list[str]) -> list[str]:
    topic_words = [w for t in topics for w in TOPICS[t].split()]
    kinds = rng.choices((FUNCTION_WORDS, POLITICS, topic_words, NAMES), (50, 33, 14, 3), k=count)
    return [rng.choice(kind) for kind in kinds]


def _body(rng: random.Random, words: list[str]) -> str:
    paragraphs, sentence, out = [], [], []
    for word in words:
        sentence.append(word)
        if len(sentence) >= rng.randint(12, 28):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
            if len(out) >= rng.randint(2, 4):
                paragraphs.append(" ".join(out))
                out = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    if out:
        paragraphs.append(" ".join(out))
    return "\n\n".join(paragraphs)


def synthetic_articles(count: int, seed: int, words: tuple[int, int]) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    topic_names = list(TOPICS)
    now = datetime.now(timezone.utc)
    for i in range(count):
        topics = rng.sample(topic_names, rng.randint(1, 3))
        body_words = _words(rng, rng.randint(*words), topics)
        title = " ".join(_words(rng, rng.randint(6, 12), topics)).capitalize()
        published = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        source = rng.choice(SOURCES)
        yield {
            "url": f"https://{source}.example/politics/{i}",
            "source": source,
            "section": "politics",
            "title": title,
            "body": _body(rng, body_words),
            "published_at": published,
            "published_raw": published.isoformat(),
            "authors": rng.sample(AUTHORS, rng.choice((0, 0, 1, 1, 2))),
            "credit": rng.choice(CREDITS),
            "tags": topics,
            "language": "en",
            "word_count": len(body_words),
            "body_method": "synthetic",
            "content_hash": hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(),
            "first_seen_at": now,
            "last_seen_at": now,
        }


def fill(url: str, count: int, seed: int, words: tuple[int, int], batch: int = 2000) -> float:
    """Insert ``count`` articles in batches; returns seconds taken."""
    engine = open_database(url)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in synthetic_articles(count, seed, words):
            rows.append(row)
            if len(rows) == batch:
                conn.execute(insert(ArticleRow), rows)
                rows = []
        if rows:
            conn.execute(insert(ArticleRow), rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE articles"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def list_queries(rng: random.Random, n: int = 50) -> list[tuple[query.ArticleFilter, int]]:
    out = []
    for i in range(n):
        kind = i % 5
        since = date(2023, 1, 1) + timedelta(days=rng.randrange(1200))
        if kind == 0:
            f = query.ArticleFilter(source=rng.choice(SOURCES))
        elif kind == 1:
            f = query.ArticleFilter(since=since, until=since + timedelta(days=30), tz="Asia/Tokyo")
        elif kind == 2:
            f = query.ArticleFilter(credit=rng.choice(CREDITS[:-1]), since=since)
        elif kind == 3:
            f = query.ArticleFilter(author=rng.choice(AUTHORS).split()[1].lower())
        else:
            f = query.ArticleFilter()
        out.append((f, rng.choice((0, 0, 0, 20, 100))))
    return out


def _timed(action: Callable[[], Any]) -> tuple[float, float]:
    """(wall ms, this process's CPU ms): SQLite works in this process, so its CPU time is a
    steadier figure than wall time on a loaded machine; PostgreSQL's work is the server's."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _searches() -> list[tuple[str, query.ArticleFilter]]:
    return [(s, query.ArticleFilter()) if isinstance(s, str) else (s[0], query.ArticleFilter(**s[1]))
            for s in SEARCHES]


def measure(url: str, seed: int) -> dict[str, list[float]]:
    engine = open_database(url)
    rng = random.Random(seed)
    timings: dict[str, list[float]] = {"search": [], "search_cpu": [], "list": []}
    searches = _searches()
    lists = list_queries(rng)
    for q, filters in searches[:5]:  # warm the caches once
        query.search(engine, q, filters=filters, limit=20)
    for q, filters in searches:
        wall, cpu = _timed(lambda: query.search(engine, q, filters=filters, limit=20))  # noqa: B023
        timings["search"].append(wall)
        timings["search_cpu"].append(cpu)
    for filters, offset in lists:
        timings["list"].append(
            _timed(lambda: query.list_articles(engine, filters, 20, offset))[0]  # noqa: B023
        )
    engine.dispose()
    return timings


def exact_ranking(conn: Any, text_: str, filters: query.ArticleFilter) -> list[tuple[int, float]]:
    """(id, score) of the top 20 of ranking *every* match, higher score first: the reference
    a search is judged against. Every match's score is fetched and sorted here, so no LIMIT,
    candidate bound or window of the code under test takes part."""
    terms = query.search_terms(text_)
    dialect = conn.dialect.name
    clauses = query._filter_clauses(filters, dialect)
    if dialect == "sqlite":
        fts = query._FTS_TABLE
        score = -func.bm25(query._FTS, 5.0, 1.0)
        stmt = (
            select(fts.c.rowid, score, fts.c.rowid)
            .where(query._FTS.op("MATCH")(query.fts5_query(terms)))
            .where(fts.c.rowid.in_(select(ArticleRow.id).where(*clauses)) if clauses else true())
        )
    else:
        tsq = query._pg_tsquery(terms)
        stmt = select(
            ArticleRow.id, func.ts_rank_cd(query._PG_VECTOR, tsq), ArticleRow.published_at
        ).where(query._PG_VECTOR.op("@@")(tsq), *clauses)
    rows = conn.execute(stmt).all()
    # Ties: newest first on PostgreSQL (published_at, id), newest-inserted first on SQLite.
    rows.sort(key=lambda r: (r[1], r[2], r[0]), reverse=True)
    return [(r[0], float(r[1])) for r in rows[:20]]


def ndcg(got: list[float], ideal: list[float]) -> float:
    """NDCG of a result list whose items have the reference scores ``got`` (gain = score)."""
    def dcg(scores: list[float]) -> float:
        return sum(score / math.log2(k + 2) for k, score in enumerate(scores))
    return dcg(got) / dcg(ideal) if ideal and dcg(ideal) > 0 else 1.0


def quality(url: str) -> tuple[int, float, float, int]:
    """(searches whose top 20 equal the exact top 20, mean overlap of the two top 20s, mean
    NDCG@20 with the exact scores as gains, searches). A hit's rank is its exact score on both
    backends (bm25 over the FTS index; ts_rank_cd over the whole vector), so it is the gain."""
    engine = open_database(url)
    same, overlaps, ndcgs = 0, [], []
    try:
        with engine.connect() as conn:
            for q, filters in _searches():
                hits = query.search(engine, q, filters=filters, limit=20)
                exact = exact_ranking(conn, q, filters)
                conn.rollback()
                ids = [hit.id for hit in hits]
                same += ids == [i for i, _ in exact]
                overlaps.append(len(set(ids) & {i for i, _ in exact}) / len(exact) if exact else 1.0)
                ndcgs.append(ndcg([hit.rank for hit in hits], [score for _, score in exact]))
    finally:
        engine.dispose()
    return same, statistics.mean(overlaps), statistics.mean(ndcgs), len(SEARCHES)


def pg_buffers(url: str) -> list[int]:
    """Shared buffers each search touches on PostgreSQL (EXPLAIN ANALYZE BUFFERS of every
    statement the search runs, replayed in its transaction): a count the machine's load does
    not change."""
    engine = open_database(url)
    counted: list[int] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("EXPLAIN", "SET")):
            return
        with conn.connection.dbapi_connection.cursor() as raw:
            raw.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
            plan = raw.fetchone()[0][0]
        counted.append(plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0))

    event.listen(engine, "after_cursor_execute", explain)
    per_search = []
    try:
        for q, filters in _searches():
            counted.clear()
            query.search(engine, q, filters=filters, limit=20)
            per_search.append(sum(counted))
    finally:
        event.remove(engine, "after_cursor_execute", explain)
        engine.dispose()
    return per_search


def _load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def kept_database(server_url: str, name: str, size: int) -> tuple[str, bool]:
    """The URL of database ``name`` on the server, made if missing, and whether it already
    holds ``size`` articles (a fill cut short is dropped and made again)."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
        if found:
            engine = open_database(url)
            with engine.connect() as conn:
                count = conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
            engine.dispose()
            if count == size:
                return url, True
        with admin.connect() as conn:
            # The name is generated by this script, never input: safe to format in.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url, False


@contextmanager
def postgres_database(server_url: str, name: str) -> Iterator[str]:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    # The name is generated by this script, never input: safe to format in.
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (a database per size is made)")
    parser.add_argument("--words", type=int, nargs=2, default=[300, 800], metavar=("MIN", "MAX"))
    parser.add_argument("--workdir", type=Path, help="where SQLite files go (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--keep", action="store_true",
                        help="with --pg-url: keep each size's PostgreSQL archive and reuse it next run")
    args = parser.parse_args(argv)
    if args.keep and not args.pg_url:
        parser.error("--keep needs --pg-url (a throwaway cluster is deleted at the end)")

    results: dict[tuple[str, int], dict[str, Any]] = {}
    with ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        pg_server = args.pg_url
        if "postgresql" in args.backends and not pg_server:
            from tests.support.postgres import throwaway_cluster

            pg_server = stack.enter_context(throwaway_cluster())
        for size in args.sizes:
            for backend in args.backends:
                if backend == "sqlite":
                    path = workdir / f"bench-{size}.db"
                    for stale in workdir.glob(f"bench-{size}.db*"):
                        stale.unlink()
                    url = f"sqlite:///{path}"
                    cleanup: Callable[[], None] = lambda p=path: [  # noqa: E731
                        f.unlink() for f in p.parent.glob(p.name + "*")
                    ]
                elif args.keep:
                    name = f"newscrawl_bench_{size}_{args.seed}_{args.words[0]}_{args.words[1]}"
                    url, filled = kept_database(pg_server, name, size)
                    cleanup = lambda: None  # noqa: E731
                else:
                    name = f"newscrawl_bench_{size}_{uuid.uuid4().hex[:6]}"
                    ctx = postgres_database(pg_server, name)
                    url = ctx.__enter__()
                    cleanup = lambda c=ctx: c.__exit__(None, None, None)  # noqa: E731
                try:
                    if backend == "postgresql" and args.keep and filled:
                        print(f"# {backend}: reusing the {size} articles of {name} ({_load()})", flush=True)
                    else:
                        seconds = fill(url, size, args.seed, tuple(args.words))
                        print(f"# {backend}: filled {size} articles in {seconds:.1f} s ({_load()})", flush=True)
                    results[backend, size] = run_size(url, backend, size, args.seed)
                finally:
                    cleanup()
    report(results, args.backends, sorted(args.sizes))
    return 0


def run_size(url: str, backend: str, size: int, seed: int) -> dict[str, Any]:
    """Every figure for one archive, each printed as it is measured with the load beside it."""
    out: dict[str, Any] = {}
    for op, values in measure(url, seed).items():
        if op == "search_cpu" and backend != "sqlite":
            continue
        out[op] = (percentile(values, 50), percentile(values, 95), _load_1min())
        unit = "CPU ms" if op == "search_cpu" else "ms"
        print(f"# {backend} {size} {op}: p50 {out[op][0]:.1f} {unit}, p95 {out[op][1]:.1f} {unit} "
              f"({len(values)} queries; {_load()})", flush=True)
    if backend == "postgresql":
        buffers = pg_buffers(url)
        out["buffers"] = (percentile(buffers, 50), percentile(buffers, 95), _load_1min())
        print(f"# {backend} {size} search buffers: p50 {out['buffers'][0]:.0f}, p95 {out['buffers'][1]:.0f} "
              f"(shared buffers touched per search; {_load()})", flush=True)
    same, overlap, mean_ndcg, total = quality(url)
    out["quality"] = (same, overlap, mean_ndcg, total)
    print(f"# {backend} {size} search quality against ranking every match: {same}/{total} identical "
          f"top 20, mean top-20 overlap {overlap:.2f}, mean NDCG@20 {mean_ndcg:.3f} ({_load()})", flush=True)
    return out


def _load_1min() -> float:
    return os.getloadavg()[0]


def report(results: dict[tuple[str, int], dict[str, Any]], backends: list[str], sizes: list[int]) -> None:
    print()
    print(f"{'backend':<11} {'rows':>7}  {'search p50/p95 ms':>18} {'load':>5}  {'steady p50/p95':>22}  "
          f"{'identical':>9} {'overlap':>7} {'NDCG@20':>7}  {'list p50/p95 ms':>16}")
    for (backend, size), r in results.items():
        steady = r.get("search_cpu") or r.get("buffers")
        kind = "CPU ms" if "search_cpu" in r else "buffers"
        same, overlap, mean_ndcg, total = r["quality"]
        print(f"{backend:<11} {size:>7}  {r['search'][0]:>8.1f} /{r['search'][1]:>8.1f} {r['search'][2]:>5.1f}  "
              f"{steady[0]:>8.1f} /{steady[1]:>8.1f} {kind:<7}  {same:>4}/{total:<4} {overlap:>7.2f} {mean_ndcg:>7.3f}  "
              f"{r['list'][0]:>7.1f} /{r['list'][1]:>7.1f}")
    print(f"({_load()} at the end)")
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print()
        print(f"growth {small} -> {large} rows ({large / small:.0f}x data), p50 / p95:")
        for backend in backends:
            a, b = results.get((backend, small)), results.get((backend, large))
            if not (a and b):
                continue
            for op in ("search", "search_cpu", "buffers", "list"):
                if op in a and op in b:
                    print(f"  {backend:<11} {op:<10} x{b[op][0] / a[op][0]:.2f} / x{b[op][1] / a[op][1]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
