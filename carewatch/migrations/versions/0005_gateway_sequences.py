"""gateway_sequences: each gateway's message counter (contract v1.1 seq), for counting lost messages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 15:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('gateway_sequences',
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('highest_seq', sa.BigInteger(), nullable=False),
    sa.Column('open_gaps', sa.Text(), nullable=False),
    sa.Column('messages_missing', sa.BigInteger(), nullable=False),
    sa.Column('resets', sa.BigInteger(), nullable=False),
    sa.Column('duplicates', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('gateway_id')
    )


def downgrade() -> None:
    op.drop_table('gateway_sequences')
