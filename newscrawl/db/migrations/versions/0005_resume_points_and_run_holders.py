"""resume points for unfinished listing walks; host and PID of each crawl run

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``resume_points``: how far each source's last walk got, so a killed backfill is
resumed. ``crawl_runs.host/pid/process_start``: whose process a ``running`` row is,
so a later crawl marks only runs whose process is gone as ``aborted``. Plain ADD
COLUMNs (nullable; rows of older runs have no holder).
"""
from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("crawl_runs", sa.Column("host", sa.String(length=255), nullable=True))
    op.add_column("crawl_runs", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("crawl_runs", sa.Column("process_start", sa.String(length=100), nullable=True))
    op.create_table(
        "resume_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("start_url", sa.Text(), nullable=False),
        sa.Column("max_pages", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("deepest_page", sa.Integer(), nullable=False),
        sa.Column("frontier_url", sa.Text(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resume_points")),
        sa.UniqueConstraint("source", "start_url", name=op.f("uq_resume_points_source")),
    )


def downgrade() -> None:
    op.drop_table("resume_points")
    with op.batch_alter_table("crawl_runs") as batch:
        for name in ("host", "pid", "process_start"):
            batch.drop_column(name)
