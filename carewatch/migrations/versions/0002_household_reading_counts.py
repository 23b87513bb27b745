"""Household reading counts of the scaled-out path (the workers' states, followed by `carewatch alerts`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 08:04:14.282820

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('household_reading_counts',
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('readings_accepted', sa.BigInteger(), nullable=False),
    sa.Column('readings_duplicate', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('household_id')
    )


def downgrade() -> None:
    op.drop_table('household_reading_counts')
