"""crawl_runs: discovery counts and health results

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Plain ADD COLUMNs (no batch rebuild): on SQLite a table rebuild would be
needless here, and these columns all have server defaults or allow NULL.
"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNTS = ("links_seen", "links_new", "links_refreshed", "links_skipped")


def upgrade() -> None:
    for name in COUNTS:
        op.add_column("crawl_runs", sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.add_column("crawl_runs", sa.Column("healthy", sa.Boolean(), nullable=True))
    op.add_column("crawl_runs", sa.Column("health", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        for name in (*COUNTS, "healthy", "health"):
            batch.drop_column(name)
