"""geplande_stap, gebeurtenis, uwv_overdracht: no foreign keys on traject_id and client_id (every index stays)

Drops the foreign keys of ``geplande_stap.traject_id``, ``gebeurtenis.traject_id``,
``uwv_overdracht.client_id`` and ``uwv_overdracht.traject_id``. ``traject.client_id`` keeps its key, and so
does every other table.

Why: the UWV feed writes a handover row and a trajectory's planned steps and start event per accepted
record, and the sweep an event per fired step. On PostgreSQL each foreign key of an inserted row is a
trigger that looks the referenced row up and locks it (``SELECT 1 FROM traject ... FOR KEY SHARE``): one
parent look-up and one row lock per inserted row, per key. An import of 100,000 handover records inserts
over half a million such rows (``bench/feed.py`` prints them: 381,405 planned steps, 76,281 start events,
95,216 handovers); the feed's 10 s goal was out of reach on PostgreSQL with the keys (docs/benchmarks.md).
The keys protect nothing these tables need:

* the engine is their only writer, and it writes the child rows in the transaction in which it created or
  read the parent: a trajectory's steps and start event with the trajectory (``Engine.start`` and the
  feed's bulk start), a fired step's events and its follow-up steps in the sweep batch that read the step
  and its trajectory, a handover row with the client and trajectory the feed just created or looked up;
* clients and trajectories are never deleted (anonymisation overwrites a client's personal data in place;
  a trajectory ends with a status; there is no DELETE of ``client`` or ``traject`` and no ON DELETE
  CASCADE anywhere), so the keys never prevented or cascaded a delete;
* ``trajecten controleer`` (``trajecten/opslag/integriteit.py``) counts the rows whose reference has no parent,
  for these four and for every other reference the database does not enforce: it proves the above on a
  real database instead of trusting it.

The indexes stay: ``uq_stap_once`` (steps are looked up by trajectory through it), ``ix_stap_due`` (partial,
``WHERE status = 'gepland'``: the sweep's read), ``ix_gebeurtenis_traject_id`` (a trajectory's timeline),
``ix_uwv_overdracht_client_id`` and the unique ``referentie``. On SQLite batch mode rebuilds the three
tables; ``_partial_index_kept`` checks that ``ix_stap_due`` came back with its WHERE clause and recreates it
if not.

The downgrade re-creates the keys; it fails (as it should) while ``trajecten controleer`` reports orphans.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# SQLite reflects the keys without a name; batch mode (which rebuilds the table there) names them with this
# convention, so they can be dropped (the same convention as 0014's)
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}

# table -> [(column, referred table)]: the keys this migration drops
KEYS = {
    'geplande_stap': [('traject_id', 'traject')],
    'gebeurtenis': [('traject_id', 'traject')],
    'uwv_overdracht': [('client_id', 'client'), ('traject_id', 'traject')],
}

STAP_DUE_WHERE = "status = 'gepland'"


def _fk_names(table: str) -> list[str]:
    """The names of this table's keys in ``KEYS`` that still exist (a named key keeps its name)."""
    wanted = set(KEYS[table])
    names = []
    for fk in sa.inspect(op.get_bind()).get_foreign_keys(table):
        cols = fk['constrained_columns']
        if len(cols) == 1 and (cols[0], fk['referred_table']) in wanted:
            names.append(fk['name'] or NAMING['fk'] % {'table_name': table, 'column_0_name': cols[0],
                                                        'referred_table_name': fk['referred_table']})
    return names


def _partial_index_kept() -> None:
    """On SQLite: ``ix_stap_due`` must still read only planned steps after the rebuild of geplande_stap."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_stap_due'").scalar()
    if sql is not None and 'WHERE' in sql.upper() and "'gepland'" in sql:
        return
    if sql is not None:
        op.drop_index('ix_stap_due', table_name='geplande_stap')
    op.create_index('ix_stap_due', 'geplande_stap', ['due_at'], unique=False,
                    sqlite_where=sa.text(STAP_DUE_WHERE))


def upgrade() -> None:
    for table in KEYS:
        names = _fk_names(table)
        if names:
            with op.batch_alter_table(table, schema=None, naming_convention=NAMING) as batch_op:
                for name in names:
                    batch_op.drop_constraint(name, type_='foreignkey')
    _partial_index_kept()


def downgrade() -> None:
    for table, keys in KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in keys:
                batch_op.create_foreign_key(f'{table}_{column}_fkey', referred, [column], ['id'])
    _partial_index_kept()
