"""Metadata store: SQLAlchemy models, engine setup and migrations."""
