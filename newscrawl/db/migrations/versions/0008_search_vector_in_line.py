"""PostgreSQL: keep the search tsvector in the row (compressed) instead of TOASTed out of line

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02

Ranking (``ts_rank_cd``) and a phrase's recheck read a match's whole vector. Stored
out of line, each read cost ~10 buffer reads (TOAST index and chunks) per row;
with ``STORAGE MAIN`` the vector (~2.5 KB compressed at 300-800 words) stays in the
heap tuple the bitmap scan has already read. ``SET STORAGE`` only affects new
rows, so the generated column is dropped and added again (a table rewrite) and
its GIN index rebuilt. SQLite: nothing to do (FTS5 keeps its own index).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The column as migration 0002 made it; only its storage differs between the two.
COLUMN = """
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')
    ) STORED
"""
REBUILD = {
    "MAIN": "ALTER TABLE articles DROP COLUMN search_vector, " + COLUMN.strip()
    + ", ALTER COLUMN search_vector SET STORAGE MAIN",
    "EXTENDED": "ALTER TABLE articles DROP COLUMN search_vector, " + COLUMN.strip()
    + ", ALTER COLUMN search_vector SET STORAGE EXTENDED",
}


def _rebuild(storage: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
    op.execute(REBUILD[storage])
    op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
    # A new column has no statistics; search sizes its first window from the lexeme counts.
    op.execute("ANALYZE articles")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild("MAIN")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild("EXTENDED")
