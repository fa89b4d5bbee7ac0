"""logboek dataverwerkingen and anonymisation (P6)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import trajecten.opslag.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verwerking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("parent_span_id", sa.String(length=16), nullable=True),
        sa.Column("naam", sa.String(length=200), nullable=False),
        sa.Column("start_tijd", trajecten.opslag.models.UTCDateTime(), nullable=False),
        sa.Column("eind_tijd", trajecten.opslag.models.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("activiteit", sa.String(length=300), nullable=False),
        sa.Column("betrokkene", sa.String(length=64), nullable=True),
        sa.Column("betrokkene_type", sa.String(length=10), nullable=True),
        sa.Column("gebruiker", sa.String(length=100), nullable=False),
        sa.Column("component", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verwerking_trace_id", "verwerking", ["trace_id"])
    op.create_index("ix_verwerking_activiteit", "verwerking", ["activiteit"])
    op.create_index("ix_verwerking_betrokkene", "verwerking", ["betrokkene"])


def downgrade() -> None:
    op.drop_index("ix_verwerking_betrokkene", table_name="verwerking")
    op.drop_index("ix_verwerking_activiteit", table_name="verwerking")
    op.drop_index("ix_verwerking_trace_id", table_name="verwerking")
    op.drop_table("verwerking")
