"""meter_health: each meter's battery, signal, last reading and reported flags (ingest/summaries.py).

Filled by the next summary of each household; meters not heard since stay absent (the pages show
them as never heard).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 18:20:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('meter_health',
    sa.Column('meter_id', sa.String(length=64), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('heard_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('battery_pct', sa.Float(), nullable=True),
    sa.Column('signal_dbm', sa.Float(), nullable=True),
    sa.Column('signal_median_dbm', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('battery_low', sa.Boolean(), nullable=False),
    sa.Column('weak_signal', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('meter_id')
    )
    op.create_index(op.f('ix_meter_health_household_id'), 'meter_health', ['household_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_meter_health_household_id'), table_name='meter_health')
    op.drop_table('meter_health')
