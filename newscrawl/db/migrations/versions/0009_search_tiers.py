"""PostgreSQL: index each article's salient words by how much they weigh in its rank

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

For a one-word search ``ts_rank_cd`` is the sum of the weights of the word's positions
in the article (title A = 1.0, body B = 0.4), so the best matches of a common word are
the articles where it weighs most, not the newest. ``newscrawl_search_tiers(vector)``
lists each word of an article that weighs more than one body mention as ``TIER~lexeme``,
where TIER = floor(4 * log2(10 x weight)) (12 for two body mentions, 13 for a title
mention, up to 45 for 256 title mentions), and a GIN index over it finds the articles
where a word weighs at least a given tier without reading any row. Search
(newscrawl/query.py, ``_salient``) ranks those instead of every match. An expression
index, not a column: the heap does not grow and the vector stays the one source. SQLite:
nothing to do (FTS5 ranks every match from its own index).
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Weights in tenths, as ts_rank_cd's defaults {D 0.1, C 0.2, B 0.4, A 1.0}; a word with
# one body mention (4) is left out: every match holds at least that much.
FUNCTION = r"""
CREATE FUNCTION newscrawl_search_tiers(vector tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_to_tsvector(coalesce(array_agg(t.token), '{}'))
    FROM (
        SELECT u.lexeme, u.weights, (
            10 * cardinality(array_positions(u.weights, 'A'))
            + 4 * cardinality(array_positions(u.weights, 'B'))
            + 2 * cardinality(array_positions(u.weights, 'C'))
            + cardinality(array_positions(u.weights, 'D')))::float8 AS weight
        FROM unnest(vector) AS u(lexeme, positions, weights)
    ) AS s,
    LATERAL (
        SELECT floor(4 * ln(s.weight) / ln(2))::int || '~' || s.lexeme WHERE s.weight > 4
        UNION ALL
        SELECT 'a~' || s.lexeme WHERE 'A' = ANY(s.weights)
    ) AS t(token)
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute(
        "CREATE INDEX ix_articles_search_tiers ON articles "
        "USING gin (newscrawl_search_tiers(search_vector))"
    )
    op.execute("ANALYZE articles")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_search_tiers")
    op.execute("DROP FUNCTION IF EXISTS newscrawl_search_tiers(tsvector)")
