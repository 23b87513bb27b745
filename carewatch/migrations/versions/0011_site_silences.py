"""site_silences: planned silences of a site or some of its households for some alert types (alerts/silences.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('site_silences',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('household_ids', sa.JSON(), nullable=True),
    sa.Column('alert_types', sa.JSON(), nullable=False),
    sa.Column('include_safety', sa.Boolean(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('site_silences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_silences_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_silences_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_silences_ends_at'), ['ends_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('site_silences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_silences_ends_at'))
        batch_op.drop_index(batch_op.f('ix_site_silences_starts_at'))
        batch_op.drop_index(batch_op.f('ix_site_silences_site_id'))
    op.drop_table('site_silences')
