"""Persistence: SQLModel tables, the async engine, repositories and the unit of work.

Nothing here knows about Telegram or about the bureau's rules; `services/` decides, `storage/` remembers.
No engine is created at import time: call :func:`storage.db.create_engine` at start-up.
"""
