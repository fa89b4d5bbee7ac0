"""besluit: decisions' explanations stored once, referred to by the SHA-256 of their JSON

Why: the start event of every trajectory carried its eligibility decision with the whole explanation.
The 76,281 starts of a 100,000-record UWV feed (``bench/feed.py``) share a few hundred distinct decisions
(one per WW end date), so the log held the same explanations tens of thousands of times, and an import
wrote them all. The start event now holds ``besluit_ref``; the pages and the
API put the explanation back in its place (``trajecten/opslag/besluiten.py``). Events written before keep theirs.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('besluit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sleutel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('regel', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('versie', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('inhoud', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sleutel')
    )


def downgrade() -> None:
    op.drop_table('besluit')
