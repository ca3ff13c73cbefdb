"""clocks, mail, knowledge base and planner tables

Revision ID: 566913a4d87f
Revises: 353b4ad1cca9
Created: 2026-11-26 23:13:06.203350
"""

import sqlalchemy as sa
from alembic import op

revision = '566913a4d87f'
down_revision = '353b4ad1cca9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('article_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], name=op.f('fk_article_revision_article_id_article')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_article_revision_author_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_revision'))
    )
    with op.batch_alter_table('article_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_revision_article_id'), ['article_id'], unique=False)

    op.create_table('article_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], name=op.f('fk_article_vote_article_id_article')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_article_vote_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_vote')),
    sa.UniqueConstraint('article_id', 'user_id', name='uq_article_vote_person')
    )
    op.create_table('business_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.DateTime(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('holiday_country', sa.String(length=8), nullable=True),
    sa.Column('closed_dates', sa.JSON(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_business_schedule_account_id_account')),
    sa.ForeignKeyConstraint(['changed_by_id'], ['user.id'], name=op.f('fk_business_schedule_changed_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_schedule'))
    )
    with op.batch_alter_table('business_schedule', schema=None) as batch_op:
        batch_op.create_index('ix_business_schedule_account_from', ['account_id', 'effective_from'], unique=False)

    op.create_table('search_query',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_search_query_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_query'))
    )
    with op.batch_alter_table('search_query', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_query_created_at'), ['created_at'], unique=False)

    op.create_table('warmup_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_warmup_plan_account_id_account')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_warmup_plan_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warmup_plan'))
    )
    with op.batch_alter_table('warmup_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warmup_plan_account_id'), ['account_id'], unique=False)

    op.create_table('clock_warning',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('clock', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_clock_warning_case_id_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_warning')),
    sa.UniqueConstraint('case_id', 'clock', 'stage', 'due_at', name='uq_clock_warning_key')
    )
    with op.batch_alter_table('clock_warning', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clock_warning_case_id'), ['case_id'], unique=False)

    op.create_table('suggestion_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_key', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], name=op.f('fk_suggestion_event_article_id_article')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_suggestion_event_case_id_case')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_suggestion_event_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_event'))
    )
    with op.batch_alter_table('suggestion_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestion_event_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suggestion_event_draft_key'), ['draft_key'], unique=False)

    op.create_table('inbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('body_digest', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_inbound_message_case_id_case')),
    sa.ForeignKeyConstraint(['event_id'], ['case_event.id'], name=op.f('fk_inbound_message_event_id_case_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_message')),
    sa.UniqueConstraint('message_id', 'body_digest', name='uq_inbound_message_id_digest')
    )
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_message_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_message_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_message_status'), ['status'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('warning_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_notification_case_id_case')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user')),
    sa.ForeignKeyConstraint(['warning_id'], ['clock_warning.id'], name=op.f('fk_notification_warning_id_clock_warning')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('outbound_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('in_reply_to', sa.String(length=255), nullable=True),
    sa.Column('references', sa.Text(), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_outbound_message_case_id_case')),
    sa.ForeignKeyConstraint(['event_id'], ['case_event.id'], name=op.f('fk_outbound_message_event_id_case_event')),
    sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_outbound_message_recipient_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_message')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbound_message_message_id'))
    )
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_message_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_outbound_message_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbound_message_to_created', ['to_address', 'created_at'], unique=False)

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('hotline_intake_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('callback_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('callback_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('update_interval_minutes', sa.Integer(), nullable=False, server_default='60'))
        batch_op.add_column(sa.Column('next_update_due_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_callback_due_at'), ['callback_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_first_response_due_at'), ['first_response_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_next_update_due_at'), ['next_update_due_at'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notification_prefs', sa.JSON(), nullable=False, server_default='{}'))

    create_article_search()


def create_article_search():
    """Full-text search over articles: an FTS5 index kept by triggers on SQLite,
    a GIN index over the same tsvector expression on PostgreSQL."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE article_fts USING fts5("
            "title, summary, body_md, content='article', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
        )
        op.execute(
            "CREATE TRIGGER article_fts_ai AFTER INSERT ON article BEGIN "
            "INSERT INTO article_fts(rowid, title, summary, body_md) "
            "VALUES (new.id, new.title, new.summary, new.body_md); END"
        )
        op.execute(
            "CREATE TRIGGER article_fts_ad AFTER DELETE ON article BEGIN "
            "INSERT INTO article_fts(article_fts, rowid, title, summary, body_md) "
            "VALUES ('delete', old.id, old.title, old.summary, old.body_md); END"
        )
        op.execute(
            "CREATE TRIGGER article_fts_au AFTER UPDATE ON article BEGIN "
            "INSERT INTO article_fts(article_fts, rowid, title, summary, body_md) "
            "VALUES ('delete', old.id, old.title, old.summary, old.body_md); "
            "INSERT INTO article_fts(rowid, title, summary, body_md) "
            "VALUES (new.id, new.title, new.summary, new.body_md); END"
        )
        op.execute("INSERT INTO article_fts(article_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_article_search ON article USING GIN ("
            "(setweight(to_tsvector('english', title), 'A') || "
            "setweight(to_tsvector('english', summary), 'B') || "
            "setweight(to_tsvector('english', body_md), 'C')))"
        )


def drop_article_search():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("article_fts_ai", "article_fts_ad", "article_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS article_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_article_search")


def downgrade():
    drop_article_search()
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('notification_prefs')

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_next_update_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_first_response_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_callback_due_at'))
        batch_op.drop_column('next_update_due_at')
        batch_op.drop_column('update_interval_minutes')
        batch_op.drop_column('callback_at')
        batch_op.drop_column('callback_due_at')
        batch_op.drop_column('hotline_intake_at')
        batch_op.drop_column('first_response_due_at')

    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_message_to_created')
        batch_op.drop_index('ix_outbound_message_due')
        batch_op.drop_index(batch_op.f('ix_outbound_message_case_id'))

    op.drop_table('outbound_message')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_id_id')

    op.drop_table('notification')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_status'))
        batch_op.drop_index(batch_op.f('ix_inbound_message_message_id'))
        batch_op.drop_index(batch_op.f('ix_inbound_message_case_id'))

    op.drop_table('inbound_message')
    with op.batch_alter_table('suggestion_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestion_event_draft_key'))
        batch_op.drop_index(batch_op.f('ix_suggestion_event_article_id'))

    op.drop_table('suggestion_event')
    with op.batch_alter_table('clock_warning', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clock_warning_case_id'))

    op.drop_table('clock_warning')
    with op.batch_alter_table('warmup_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warmup_plan_account_id'))

    op.drop_table('warmup_plan')
    with op.batch_alter_table('search_query', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_query_created_at'))

    op.drop_table('search_query')
    with op.batch_alter_table('business_schedule', schema=None) as batch_op:
        batch_op.drop_index('ix_business_schedule_account_from')

    op.drop_table('business_schedule')
    op.drop_table('article_vote')
    with op.batch_alter_table('article_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_revision_article_id'))

    op.drop_table('article_revision')
