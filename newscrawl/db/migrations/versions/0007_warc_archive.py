"""where each article's raw response lives in the WARC archive; why a revision was made

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02

``articles.warc_file/warc_offset``: the WARC record of the response the stored version was
read from (null for articles stored without the archive). ``article_revisions.kind``:
``crawl`` (a re-crawl found the site's text changed; every earlier revision) or
``re-extraction`` (``newscrawl reparse`` read the same archived page differently).
Plain ADD COLUMNs.
"""
from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("warc_file", sa.Text(), nullable=True))
    op.add_column("articles", sa.Column("warc_offset", sa.BigInteger(), nullable=True))
    op.add_column("article_revisions",
                  sa.Column("kind", sa.String(length=20), nullable=False, server_default="crawl"))


#: SQLite drops the columns in place (3.35+): a batch copy of ``articles`` would lose its
#: expression index (0004) and full-text triggers (0002), which SQLAlchemy cannot reflect.
SQLITE_DROPS = (
    "ALTER TABLE article_revisions DROP COLUMN kind",
    "ALTER TABLE articles DROP COLUMN warc_offset",
    "ALTER TABLE articles DROP COLUMN warc_file",
)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DROPS:
            op.execute(statement)
        return
    op.drop_column("article_revisions", "kind")
    op.drop_column("articles", "warc_offset")
    op.drop_column("articles", "warc_file")
