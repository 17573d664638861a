"""event tags: the source's own tags move to source_tags; tags, after_dark, age computed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 18:00:00

Existing events keep their source's tags in ``source_tags`` and start with no computed
tags and ``rules_version`` 0: the retag job (``python -m scrapers retag``) classifies them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("source_tags", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(
            sa.Column("after_dark", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("after_dark_reasons", sa.JSON(), server_default="[]", nullable=False)
        )
        batch.add_column(sa.Column("age", sa.String(length=10), nullable=True))
        batch.add_column(
            sa.Column("rules_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute("UPDATE event SET source_tags = tags, tags = '[]'")
    op.create_index(
        "ix_event_city_after_dark_start", "event", ["city_id", "after_dark", "start_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_event_city_after_dark_start", table_name="event")
    op.execute("UPDATE event SET tags = source_tags")
    with op.batch_alter_table("event") as batch:
        for name in ("rules_version", "age", "after_dark_reasons", "after_dark", "source_tags"):
            batch.drop_column(name)
