"""rota_shifts, rota_overrides: the duty rota per site kept in the database, and its overrides (alerts/rota.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('rota_shifts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start', sa.Time(), nullable=False),
    sa.Column('end', sa.Time(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rota_shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rota_shifts_site_id'), ['site_id'], unique=False)
    op.create_table('rota_overrides',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('absent_id', sa.String(length=64), nullable=False),
    sa.Column('replacement_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rota_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rota_overrides_site_id'), ['site_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rota_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rota_overrides_site_id'))
    op.drop_table('rota_overrides')
    with op.batch_alter_table('rota_shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rota_shifts_site_id'))
    op.drop_table('rota_shifts')
