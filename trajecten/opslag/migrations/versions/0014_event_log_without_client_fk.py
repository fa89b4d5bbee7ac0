"""gebeurtenis: no foreign key on client_id (the index on it stays)

Why: every fired step appends an event, and on PostgreSQL each foreign key of ``gebeurtenis`` is a trigger
that looks the referenced row up and locks it (``SELECT 1 FROM client ... FOR KEY SHARE``) once per
inserted row. For 10,000 fired steps that was 10,000 look-ups of ``client`` on top of those of
``traject``. The key protects nothing the log needs:

* an event of a trajectory carries that trajectory's client, and ``traject_id`` keeps its foreign key
  (``traject.client_id`` has one too), so the client is implied by a checked row;
* the events without a trajectory (``client_geanonimiseerd``, caseload moves) are written by code that
  read the client row in the same transaction (``anonimiseren``, ``caseload``);
* clients are never deleted (anonymisation overwrites their personal data in place; there is no DELETE
  of ``client`` and no ON DELETE CASCADE anywhere), so the key never prevented or cascaded a delete.

``ix_gebeurtenis_client_id`` stays: the client page, anonymisation and the outflow report read a client's
events by it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# SQLite reflects the keys without a name; batch mode (which rebuilds the table there) names them with this
# convention, so the one on client_id can be dropped (the traject_id key comes back under such a name)
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _client_fk_name() -> str | None:
    for fk in sa.inspect(op.get_bind()).get_foreign_keys('gebeurtenis'):
        if fk['constrained_columns'] == ['client_id']:
            return fk['name'] or NAMING['fk'] % {'table_name': 'gebeurtenis', 'column_0_name': 'client_id',
                                                  'referred_table_name': 'client'}
    return None


def upgrade() -> None:
    name = _client_fk_name()
    if name is not None:
        with op.batch_alter_table('gebeurtenis', schema=None, naming_convention=NAMING) as batch_op:
            batch_op.drop_constraint(name, type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('gebeurtenis', schema=None) as batch_op:
        batch_op.create_foreign_key('gebeurtenis_client_id_fkey', 'client', ['client_id'], ['id'])
