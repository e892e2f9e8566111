"""indexes for the dashboard at national scale

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 11:20:00.000000
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_status_updated', ['status', 'updated_at'], unique=False)

    with op.batch_alter_table('senior', schema=None) as batch_op:
        batch_op.create_index('ix_senior_status_waiting_since', ['status', 'waiting_since', 'id'], unique=False)

    with op.batch_alter_table('volunteer', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_status_record_checked', ['status', 'police_record_checked_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('volunteer', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_status_record_checked')

    with op.batch_alter_table('senior', schema=None) as batch_op:
        batch_op.drop_index('ix_senior_status_waiting_since')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_status_updated')
