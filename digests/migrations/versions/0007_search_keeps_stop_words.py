"""PostgreSQL full-text search keeps stop words, as SQLite's FTS5 does.

The `english` configuration drops words such as "the", "will" or "us": a search for "the fed"
then matched more on PostgreSQL than on SQLite, and one for "will" matched nothing. The
`briefbot_english` configuration is `english` with the Snowball stemmer and no stop-word list.
SQLite is unchanged.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The token types `english` sends through its stemmer (the others keep their plain forms).
_WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _search_column(config: str) -> list[str]:
    return [
        "DROP INDEX IF EXISTS ix_story_search",
        "ALTER TABLE story DROP COLUMN search",
        f"""ALTER TABLE story ADD COLUMN search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('{config}', coalesce(title, '')), 'A') ||
            setweight(to_tsvector('{config}', coalesce(summary, '')), 'B') ||
            setweight(to_tsvector('{config}', left(coalesce(body, ''), 100000)), 'C')) STORED""",
        "CREATE INDEX ix_story_search ON story USING gin (search)",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TEXT SEARCH DICTIONARY briefbot_english_stem (TEMPLATE = snowball, LANGUAGE = english)")
    op.execute("CREATE TEXT SEARCH CONFIGURATION briefbot_english (COPY = english)")
    op.execute(f"ALTER TEXT SEARCH CONFIGURATION briefbot_english ALTER MAPPING FOR {_WORD_TOKENS} "
               "WITH briefbot_english_stem")
    for statement in _search_column("briefbot_english"):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _search_column("english"):
        op.execute(statement)
    op.execute("DROP TEXT SEARCH CONFIGURATION briefbot_english")
    op.execute("DROP TEXT SEARCH DICTIONARY briefbot_english_stem")
