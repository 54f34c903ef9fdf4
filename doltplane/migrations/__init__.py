"""Schema migrations: one Alembic script directory per plane, driven from code."""
