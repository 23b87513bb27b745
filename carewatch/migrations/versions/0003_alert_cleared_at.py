"""alerts.cleared_at: the event time at which the detector saw the condition end.

Alerts the detector closed before this revision get it from their audit trail (the
auto_resolved entry's event time); the others stay null.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 14:29:03.959955

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE alerts SET cleared_at = (SELECT MIN(e.event_time) FROM alert_events e "
        "WHERE e.alert_id = alerts.id AND e.action = 'auto_resolved') "
        "WHERE cleared_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('cleared_at')
