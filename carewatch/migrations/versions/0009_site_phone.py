"""sites.phone: the community's duty line, shown on every alert card and named in messages to elders and families.

Sites made before this revision get an empty number (the messages then say "call your community office").

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 17:58:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy: on SQLite a copy of sites would trip its households' foreign keys).
    op.add_column('sites', sa.Column('phone', sa.String(length=40), server_default=sa.text("''"), nullable=False))


def downgrade() -> None:
    op.drop_column('sites', 'phone')
