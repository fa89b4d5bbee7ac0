"""ontwikkelplan and ontwikkelladder (P8)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import trajecten.opslag.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ontwikkelplan',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('versie', sa.Integer(), nullable=False),
    sa.Column('inhoud', sa.JSON(), nullable=False),
    sa.Column('stap_teller', sa.Integer(), nullable=False),
    sa.Column('bijgewerkt_door', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('bijgewerkt_op', trajecten.opslag.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('ontwikkelplan_versie',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('versie', sa.Integer(), nullable=False),
    sa.Column('inhoud', sa.JSON(), nullable=False),
    sa.Column('door', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reden', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('wijzigingen', sa.JSON(), nullable=False),
    sa.Column('traject_id', sa.Integer(), nullable=True),
    sa.Column('op', trajecten.opslag.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.ForeignKeyConstraint(['traject_id'], ['traject.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id', 'versie', name='uq_ontwikkelplan_versie')
    )
    op.create_index(op.f('ix_ontwikkelplan_versie_client_id'), 'ontwikkelplan_versie', ['client_id'], unique=False)
    op.create_table('ontwikkelplan_traject',
    sa.Column('traject_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('stap', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('gekoppeld_door', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('gekoppeld_op', trajecten.opslag.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.ForeignKeyConstraint(['traject_id'], ['traject.id'], ),
    sa.PrimaryKeyConstraint('traject_id')
    )
    op.create_index(op.f('ix_ontwikkelplan_traject_client_id'), 'ontwikkelplan_traject', ['client_id'], unique=False)
    op.create_table('ladder_trede',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('trede', sa.Integer(), nullable=False),
    sa.Column('trede_naam', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('datum', sa.Date(), nullable=False),
    sa.Column('door', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('toelichting', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('traject_id', sa.Integer(), nullable=True),
    sa.Column('vastgelegd_op', trajecten.opslag.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], ),
    sa.ForeignKeyConstraint(['traject_id'], ['traject.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ladder_trede_client_datum', 'ladder_trede', ['client_id', 'datum'], unique=False)
    op.create_table('ontwikkeling_verwerkt',
    sa.Column('traject_id', sa.Integer(), nullable=False),
    sa.Column('soort', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('verwerkt_op', trajecten.opslag.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['traject_id'], ['traject.id'], ),
    sa.PrimaryKeyConstraint('traject_id', 'soort')
    )


def downgrade() -> None:
    op.drop_table('ontwikkeling_verwerkt')
    op.drop_index('ix_ladder_trede_client_datum', table_name='ladder_trede')
    op.drop_table('ladder_trede')
    op.drop_index(op.f('ix_ontwikkelplan_traject_client_id'), table_name='ontwikkelplan_traject')
    op.drop_table('ontwikkelplan_traject')
    op.drop_index(op.f('ix_ontwikkelplan_versie_client_id'), table_name='ontwikkelplan_versie')
    op.drop_table('ontwikkelplan_versie')
    op.drop_table('ontwikkelplan')
