"""city feeds: venues' and collectives' calendars per city; events and runs name their feed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "city_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city_id", "url", name="uq_city_feed_city_url"),
    )
    op.create_index("ix_city_feed_city_id", "city_feed", ["city_id"])
    for table in ("event", "scrape_run"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("feed_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_feed_id_city_feed",
                "city_feed",
                ["feed_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    for table in ("scrape_run", "event"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_feed_id_city_feed", type_="foreignkey")
            batch.drop_column("feed_id")
    op.drop_index("ix_city_feed_city_id", table_name="city_feed")
    op.drop_table("city_feed")
