"""SQLAlchemy 2 models, Alembic migrations and repository functions of the programme store."""
