"""indexes for the customer's case list

Revision ID: e8f6d61aaf9d
Revises: 566913a4d87f
Created: 2026-11-26 23:44:28.075173
"""

from alembic import op

revision = 'e8f6d61aaf9d'
down_revision = '566913a4d87f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_account_id_id'))
        batch_op.create_index('ix_case_account_activity', ['account_id', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_case_account_status', ['account_id', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_account_status')
        batch_op.drop_index('ix_case_account_activity')
        batch_op.create_index(batch_op.f('ix_case_account_id_id'), ['account_id', 'id'], unique=False)

