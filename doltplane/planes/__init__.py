"""Plane logic in SQLAlchemy Core, engine-agnostic."""
