"""daily_usage: hourly use past its retention, rolled up per UTC day; an index on hourly_usage.hour for the roll-up.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 20:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('daily_usage',
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('day', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_m3', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('household_id', 'kind', 'day')
    )
    with op.batch_alter_table('daily_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_usage_day'), ['day'], unique=False)
    with op.batch_alter_table('hourly_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hourly_usage_hour'), ['hour'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hourly_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hourly_usage_hour'))
    with op.batch_alter_table('daily_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_usage_day'))
    op.drop_table('daily_usage')
