"""geplande_stap: drop the index on traject_id alone (uq_stap_once starts with traject_id and serves the
same look-ups), so every fired step updates one index less; taak: a partial index of open tasks by due
time for the team lead's worklist

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_geplande_stap_traject_id', table_name='geplande_stap')
    op.create_index('ix_taak_open_due', 'taak', ['due_at'], unique=False,
                    postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index('ix_taak_open_due', table_name='taak')
    op.create_index('ix_geplande_stap_traject_id', 'geplande_stap', ['traject_id'], unique=False)
