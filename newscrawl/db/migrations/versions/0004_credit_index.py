"""index on lower(credit) for the --credit filter

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

`newscrawl list/search/export --credit` compares ``lower(credit)``; without an
expression index SQLite scanned every row (~300 ms at 100k articles).
"""
from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_lower_credit", "articles", [sa.text("lower(credit)")])


def downgrade() -> None:
    op.drop_index("ix_articles_lower_credit", table_name="articles")
