"""Case tables: cases, parties, history, tasks, corrections, messages, files, ratings, counters, read model.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('case_counters',
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region', 'day', name=op.f('pk_case_counters'))
    )
    op.create_table('cases',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('basic_code', sa.String(length=64), nullable=False),
    sa.Column('item_version', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('receiving_region', sa.String(length=6), nullable=False),
    sa.Column('handling_region', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('resume_status', sa.String(length=24), nullable=True),
    sa.Column('applicant_kind', sa.String(length=16), nullable=False),
    sa.Column('applicant_name_enc', sa.Text(), nullable=False),
    sa.Column('applicant_id_enc', sa.Text(), nullable=False),
    sa.Column('subject_hash', sa.String(length=64), nullable=False),
    sa.Column('masked_id', sa.String(length=32), nullable=False),
    sa.Column('submitted_by', sa.JSON(), nullable=False),
    sa.Column('delivery_method', sa.String(length=12), nullable=False),
    sa.Column('delivery_address_enc', sa.Text(), nullable=True),
    sa.Column('form_enc', sa.Text(), nullable=True),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('participants', sa.JSON(), nullable=False),
    sa.Column('materials', sa.JSON(), nullable=False),
    sa.Column('pauses', sa.JSON(), nullable=False),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('correction_rounds', sa.Integer(), nullable=False),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('statutory_due', sa.Date(), nullable=True),
    sa.Column('statutory_provisional', sa.Boolean(), nullable=False),
    sa.Column('promised_due', sa.Date(), nullable=True),
    sa.Column('promised_provisional', sa.Boolean(), nullable=False),
    sa.Column('statutory_warned_for', sa.Date(), nullable=True),
    sa.Column('statutory_overdue_for', sa.Date(), nullable=True),
    sa.Column('promised_warned_for', sa.Date(), nullable=True),
    sa.Column('promised_overdue_for', sa.Date(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('transferred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transfer', sa.JSON(), nullable=False),
    sa.Column('transfer_seconds', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('handling_working_days', sa.Integer(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('delivery_proof', sa.JSON(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('event_sequence', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_basic_code_id', ['basic_code', 'id'], unique=False)
        batch_op.create_index('ix_cases_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_cases_status_promised_due', ['status', 'promised_due'], unique=False)
        batch_op.create_index('ix_cases_status_statutory_due', ['status', 'statutory_due'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_subject_hash'), ['subject_hash'], unique=False)
        batch_op.create_index('ix_cases_submitted_at', ['submitted_at'], unique=False)

    op.create_table('catalogue_items',
    sa.Column('basic_code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('basic_code', 'version', name=op.f('pk_catalogue_items'))
    )
    op.create_table('catalogue_region_offers',
    sa.Column('basic_code', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('basic_code', 'region', name=op.f('pk_catalogue_region_offers'))
    )
    op.create_table('case_corrections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('after_acceptance', sa.Boolean(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_corrections_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_corrections')),
    sa.UniqueConstraint('case_id', 'round', name='uq_case_corrections_case_round')
    )
    op.create_table('case_files',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('material_code', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('uploaded_by', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_files_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_files'))
    )
    with op.batch_alter_table('case_files', schema=None) as batch_op:
        batch_op.create_index('ix_case_files_case_id_id', ['case_id', 'id'], unique=False)

    op.create_table('case_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_history_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_history'))
    )
    with op.batch_alter_table('case_history', schema=None) as batch_op:
        batch_op.create_index('ix_case_history_case_id_id', ['case_id', 'id'], unique=False)

    op.create_table('case_messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=True),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('body_enc', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_messages_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_messages'))
    )
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.create_index('ix_case_messages_case_id_id', ['case_id', 'id'], unique=False)

    op.create_table('case_parties',
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('is_receiving', sa.Boolean(), nullable=False),
    sa.Column('is_handling', sa.Boolean(), nullable=False),
    sa.Column('is_participant', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_parties_case_id_cases')),
    sa.PrimaryKeyConstraint('region', 'case_id', name=op.f('pk_case_parties'))
    )
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.create_index('ix_case_parties_case', ['case_id'], unique=False)
        batch_op.create_index('ix_case_parties_region_case', ['region', 'case_id'], unique=False)
        batch_op.create_index('ix_case_parties_region_status_case', ['region', 'status', 'case_id'], unique=False)

    op.create_table('case_ratings',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_by', sa.JSON(), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_ratings_case_id_cases')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_ratings'))
    )
    op.create_table('case_tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_tasks_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_tasks'))
    )
    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_tasks_case_id'), ['case_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('case_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_tasks_case_id'))

    op.drop_table('case_tasks')
    op.drop_table('case_ratings')
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_case_parties_region_status_case')
        batch_op.drop_index('ix_case_parties_region_case')
        batch_op.drop_index('ix_case_parties_case')

    op.drop_table('case_parties')
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_case_messages_case_id_id')

    op.drop_table('case_messages')
    with op.batch_alter_table('case_history', schema=None) as batch_op:
        batch_op.drop_index('ix_case_history_case_id_id')

    op.drop_table('case_history')
    with op.batch_alter_table('case_files', schema=None) as batch_op:
        batch_op.drop_index('ix_case_files_case_id_id')

    op.drop_table('case_files')
    op.drop_table('case_corrections')
    op.drop_table('catalogue_region_offers')
    op.drop_table('catalogue_items')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_submitted_at')
        batch_op.drop_index(batch_op.f('ix_cases_subject_hash'))
        batch_op.drop_index('ix_cases_status_statutory_due')
        batch_op.drop_index('ix_cases_status_promised_due')
        batch_op.drop_index('ix_cases_status_id')
        batch_op.drop_index('ix_cases_basic_code_id')

    op.drop_table('cases')
    op.drop_table('case_counters')

