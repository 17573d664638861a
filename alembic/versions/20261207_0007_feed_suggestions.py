"""feed suggestions: calendars people suggest for a city, with their preview and decision

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.String(length=80), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("submitter_hash", sa.String(length=64), nullable=True),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["feed_id"], ["city_feed.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feed_suggestion_city_id", "feed_suggestion", ["city_id"])
    op.create_index(
        "ix_feed_suggestion_status_created", "feed_suggestion", ["status", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_feed_suggestion_status_created", table_name="feed_suggestion")
    op.drop_index("ix_feed_suggestion_city_id", table_name="feed_suggestion")
    op.drop_table("feed_suggestion")
