"""Catalogue tables: items, versions, region implementations, FAQ and the search token tables.

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
    # One row per (token, document) with the weight in the key's leaf: WITHOUT ROWID on SQLite,
    # INCLUDE (weight) on PostgreSQL, so searches are index-only range reads on both.
    op.create_table('faq_search_tokens',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('faq_id', sa.String(length=36), nullable=False),
    sa.Column('fields', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('token', 'faq_id', name=op.f('pk_faq_search_tokens'), postgresql_include=['weight']),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('faq_search_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_faq_search_tokens_faq_id', ['faq_id'], unique=False)

    op.create_table('items',
    sa.Column('basic_code', sa.String(length=10), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('item_type', sa.String(length=32), nullable=True),
    sa.Column('ministry', sa.String(length=100), nullable=True),
    sa.Column('mode_online', sa.Boolean(), nullable=False),
    sa.Column('mode_proxy', sa.Boolean(), nullable=False),
    sa.Column('mode_joint', sa.Boolean(), nullable=False),
    sa.Column('audience_natural', sa.Boolean(), nullable=False),
    sa.Column('audience_legal', sa.Boolean(), nullable=False),
    sa.Column('statutory_limit_days', sa.Integer(), nullable=True),
    sa.Column('promised_limit_days', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('revision >= 1', name=op.f('ck_items_revision_positive')),
    sa.PrimaryKeyConstraint('basic_code', name=op.f('pk_items'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_item_type', ['item_type'], unique=False)
        batch_op.create_index('ix_items_ministry', ['ministry'], unique=False)

    op.create_table('search_tokens',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('basic_code', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('fields', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('token', 'basic_code', name=op.f('pk_search_tokens'), postgresql_include=['weight']),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('search_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_search_tokens_basic_code', ['basic_code'], unique=False)
        batch_op.create_index('ix_search_tokens_rank', ['token', sa.text('weight DESC'), 'basic_code'], unique=False)

    op.create_table('faqs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('basic_code', sa.String(length=10), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('region', sa.String(length=6), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['basic_code'], ['items.basic_code'], name=op.f('fk_faqs_basic_code_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faqs'))
    )
    with op.batch_alter_table('faqs', schema=None) as batch_op:
        batch_op.create_index('ix_faqs_basic_code_id', ['basic_code', 'id'], unique=False)

    op.create_table('item_versions',
    sa.Column('basic_code', sa.String(length=10), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'published', 'retired')", name=op.f('ck_item_versions_state_known')),
    sa.CheckConstraint('number >= 1', name=op.f('ck_item_versions_number_positive')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_item_versions_window_not_empty')),
    sa.ForeignKeyConstraint(['basic_code'], ['items.basic_code'], name=op.f('fk_item_versions_basic_code_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('basic_code', 'number', name=op.f('pk_item_versions'))
    )
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.create_index('uq_item_versions_one_draft', ['basic_code'], unique=True, sqlite_where=sa.text("state = 'draft'"), postgresql_where=sa.text("state = 'draft'"))
        batch_op.create_index('uq_item_versions_one_in_force', ['basic_code'], unique=True, sqlite_where=sa.text("state = 'published' AND valid_to IS NULL"), postgresql_where=sa.text("state = 'published' AND valid_to IS NULL"))

    op.create_table('region_implementations',
    sa.Column('basic_code', sa.String(length=10), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('item_version', sa.Integer(), nullable=False),
    sa.Column('implementation_code', sa.String(length=31), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['basic_code'], ['items.basic_code'], name=op.f('fk_region_implementations_basic_code_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('basic_code', 'region', name=op.f('pk_region_implementations')),
    sa.UniqueConstraint('implementation_code', name=op.f('uq_region_implementations_implementation_code'))
    )
    with op.batch_alter_table('region_implementations', schema=None) as batch_op:
        batch_op.create_index('ix_region_implementations_region', ['region'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('region_implementations', schema=None) as batch_op:
        batch_op.drop_index('ix_region_implementations_region')

    op.drop_table('region_implementations')
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_item_versions_one_in_force', sqlite_where=sa.text("state = 'published' AND valid_to IS NULL"), postgresql_where=sa.text("state = 'published' AND valid_to IS NULL"))
        batch_op.drop_index('uq_item_versions_one_draft', sqlite_where=sa.text("state = 'draft'"), postgresql_where=sa.text("state = 'draft'"))

    op.drop_table('item_versions')
    with op.batch_alter_table('faqs', schema=None) as batch_op:
        batch_op.drop_index('ix_faqs_basic_code_id')

    op.drop_table('faqs')
    with op.batch_alter_table('search_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_search_tokens_rank')
        batch_op.drop_index('ix_search_tokens_basic_code')

    op.drop_table('search_tokens')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_ministry')
        batch_op.drop_index('ix_items_item_type')

    op.drop_table('items')
    with op.batch_alter_table('faq_search_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_faq_search_tokens_faq_id')

    op.drop_table('faq_search_tokens')
