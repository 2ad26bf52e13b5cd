"""stories: near-duplicate clusters of articles, their members and the LSH band index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

``stories`` (origin article, wire credit and dateline), ``story_members`` (one row per
clustered article: its story and the verified overlap with the article it was linked to)
and ``story_bands`` (MinHash LSH band keys, primary key ``(key, article_id)`` so a lookup
by key is one index range). New tables only; an archive crawled before this revision is
clustered by ``newscrawl cluster --rebuild``.
"""
from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credit", sa.String(length=200), nullable=True),
        sa.Column("dateline", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin_id"], ["articles.id"], name=op.f("fk_stories_origin_id_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index(op.f("ix_stories_origin_id"), "stories", ["origin_id"])
    op.create_index(op.f("ix_stories_published_at"), "stories", ["published_at"])
    op.create_table(
        "story_members",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("linked_to", sa.Integer(), nullable=True),
        sa.Column("contained", sa.Float(), nullable=True),
        sa.Column("covers", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_story_members_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_members_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_story_members")),
    )
    op.create_index(op.f("ix_story_members_story_id"), "story_members", ["story_id"])
    op.create_table(
        "story_bands",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_story_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "article_id", name=op.f("pk_story_bands")),
    )
    op.create_index(op.f("ix_story_bands_article_id"), "story_bands", ["article_id"])


def downgrade() -> None:
    op.drop_table("story_bands")
    op.drop_table("story_members")
    op.drop_table("stories")
