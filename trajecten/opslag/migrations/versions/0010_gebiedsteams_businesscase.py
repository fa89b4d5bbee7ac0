"""area teams, coach assignment, transfers and businesscase (P8)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import trajecten.opslag.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('client') as batch:
        batch.add_column(sa.Column('doelgroep', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True))
    op.create_table(
        'overplaatsing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('van_gebied', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column('naar_gebied', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column('postcode', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('reden', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('voorgesteld_door', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('voorgesteld_op', trajecten.opslag.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('beoordeeld_door', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('beoordeeld_op', trajecten.opslag.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('toelichting', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('nieuwe_coach', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(['client_id'], ['client.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('overplaatsing') as batch:
        batch.create_index(batch.f('ix_overplaatsing_client_id'), ['client_id'], unique=False)
        batch.create_index(batch.f('ix_overplaatsing_van_gebied'), ['van_gebied'], unique=False)
        batch.create_index(batch.f('ix_overplaatsing_naar_gebied'), ['naar_gebied'], unique=False)
        batch.create_index(batch.f('ix_overplaatsing_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('overplaatsing') as batch:
        batch.drop_index(batch.f('ix_overplaatsing_status'))
        batch.drop_index(batch.f('ix_overplaatsing_naar_gebied'))
        batch.drop_index(batch.f('ix_overplaatsing_van_gebied'))
        batch.drop_index(batch.f('ix_overplaatsing_client_id'))
    op.drop_table('overplaatsing')
    with op.batch_alter_table('client') as batch:
        batch.drop_column('doelgroep')
