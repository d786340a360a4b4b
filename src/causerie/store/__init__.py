"""The store: articles and comments in SQLite (embedded default) or PostgreSQL.

schema.py       the tables (SQLAlchemy Core), the one source of truth for migrations
database.py     engine creation from a URL, SQLite pragmas, StoreError translation
comments.py     CommentStore: the queries the API needs
migrate.py      Alembic, programmatically: upgrade to head, check the revision
migrations/     Alembic environment and versions
"""

from causerie.store.database import Database, StoreError, database_url

__all__ = ["Database", "StoreError", "database_url"]
