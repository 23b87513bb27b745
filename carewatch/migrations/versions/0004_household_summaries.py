"""Household summaries (reading counts and learned routine, from either runner) replace household_reading_counts.

The counts the alert service kept from the workers' changelog are carried over, with no routine
yet: the next summary of each household fills it in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 09:00:00.000000

"""
from datetime import UTC, datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    summaries = op.create_table('household_summaries',
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('readings_accepted', sa.BigInteger(), nullable=False),
    sa.Column('readings_duplicate', sa.BigInteger(), nullable=False),
    sa.Column('routine', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('household_id')
    )
    counts = sa.table('household_reading_counts', sa.column('household_id'), sa.column('readings_accepted'),
                      sa.column('readings_duplicate'))
    now = sa.literal(datetime.now(UTC), sa.DateTime(timezone=True))
    op.execute(summaries.insert().from_select(
        ['household_id', 'readings_accepted', 'readings_duplicate', 'updated_at'],
        sa.select(counts.c.household_id, counts.c.readings_accepted, counts.c.readings_duplicate, now),
    ))
    op.drop_table('household_reading_counts')


def downgrade() -> None:
    counts = op.create_table('household_reading_counts',
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('readings_accepted', sa.BigInteger(), nullable=False),
    sa.Column('readings_duplicate', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('household_id')
    )
    summaries = sa.table('household_summaries', sa.column('household_id'), sa.column('readings_accepted'),
                         sa.column('readings_duplicate'))
    op.execute(counts.insert().from_select(
        ['household_id', 'readings_accepted', 'readings_duplicate'],
        sa.select(summaries.c.household_id, summaries.c.readings_accepted, summaries.c.readings_duplicate),
    ))
    op.drop_table('household_summaries')
