"""payout payee other than the client (employer, supplier)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('uitbetaling') as batch:
        batch.add_column(sa.Column('ontvanger_naam', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.add_column(sa.Column('ontvanger_iban', sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('uitbetaling') as batch:
        batch.drop_column('ontvanger_iban')
        batch.drop_column('ontvanger_naam')
