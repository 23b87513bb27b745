"""shift_handoffs: the outgoing duty officer's note to the incoming one, per community (api/models.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('shift_handoffs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author', sa.String(length=128), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('shift_handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_handoffs_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_handoffs_written_at'), ['written_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shift_handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_handoffs_written_at'))
        batch_op.drop_index(batch_op.f('ix_shift_handoffs_site_id'))
    op.drop_table('shift_handoffs')
