"""exactly once as the business means it: one running trajectory per client and instrument, payout keys
that name what is paid for, the date a payout was paid, and stored answers for idempotent requests

- ``traject.een_lopend`` + the partial unique index ``uq_traject_een_lopend`` (client, instrument) over
  running trajectories started under ``per_client: een_lopend``: two concurrent starts yield one.
  Existing rows: the oldest running trajectory per client and instrument takes the place; running
  duplicates from before stay as they are (``trajecten controleer`` does not hide them: the engine's own
  check refuses a new start while any runs).
- ``uitbetaling.onderwerp`` (what is paid for) and a longer ``sleutel``; keys written before stay as they were.
- ``uitbetaling.betaald_op``, filled for paid payouts from their ``uitbetaling_betaald`` event.
- ``idempotentie``: the first answer to an ``Idempotency-Key`` (API) or a form token (pages).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from trajecten.opslag.models import UTCDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_LOPEND = "een_lopend AND status <> 'beeindigd'"


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('traject') as b:
        b.add_column(sa.Column('een_lopend', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text(
        "UPDATE traject SET een_lopend = true WHERE id IN "
        "(SELECT min(id) FROM traject WHERE status <> 'beeindigd' GROUP BY client_id, instrument)"))
    op.create_index('uq_traject_een_lopend', 'traject', ['client_id', 'instrument'], unique=True,
                    postgresql_where=sa.text(_LOPEND), sqlite_where=sa.text(_LOPEND))

    with op.batch_alter_table('uitbetaling') as b:
        b.add_column(sa.Column('onderwerp', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        b.add_column(sa.Column('betaald_op', UTCDateTime(), nullable=True))
    if pg:  # SQLite does not hold a text's length
        op.alter_column('uitbetaling', 'sleutel', type_=sqlmodel.sql.sqltypes.AutoString(length=250))
        op.execute(sa.text(
            "UPDATE uitbetaling u SET betaald_op = g.op FROM gebeurtenis g "
            "WHERE u.status = 'betaald' AND g.type = 'uitbetaling_betaald' "
            "AND (g.payload->>'uitbetaling')::int = u.id"))
    else:
        op.execute(sa.text(
            "UPDATE uitbetaling SET betaald_op = (SELECT max(g.op) FROM gebeurtenis g "
            "WHERE g.type = 'uitbetaling_betaald' AND json_extract(g.payload, '$.uitbetaling') = uitbetaling.id) "
            "WHERE status = 'betaald'"))

    op.create_table('idempotentie',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('sleutel', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('verzoek_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('antwoord', sa.JSON(), nullable=False),
    sa.Column('aangemaakt_op', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('actor', 'sleutel', name='uq_idempotentie_actor_sleutel')
    )
    op.create_index('ix_idempotentie_aangemaakt_op', 'idempotentie', ['aangemaakt_op'])


def downgrade() -> None:
    op.drop_index('ix_idempotentie_aangemaakt_op', table_name='idempotentie')
    op.drop_table('idempotentie')
    with op.batch_alter_table('uitbetaling') as b:
        b.drop_column('betaald_op')
        b.drop_column('onderwerp')
    op.drop_index('uq_traject_een_lopend', table_name='traject')
    with op.batch_alter_table('traject') as b:
        b.drop_column('een_lopend')
