"""verwerking: no index on activiteit alone

Why: no query of the engine selects Logboek records by activity. The access request (inzage) reads them
by data subject (``ix_verwerking_betrokkene``), a trace by ``trace_id``. The index held the 70-character
activity URI of every record, among a handful of values, and every appended record paid for it (a
100,000-record feed import appends two records per started handover). A future clean-up per retention
period would select by activity and end time, and would want an index on both, made then.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_verwerking_activiteit', table_name='verwerking')


def downgrade() -> None:
    op.create_index('ix_verwerking_activiteit', 'verwerking', ['activiteit'], unique=False)
