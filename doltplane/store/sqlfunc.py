"""SQL functions whose spelling differs per engine, written once for the planes.

Planes build statements with SQLAlchemy Core; where SQLite (doltlite) and MySQL
(a Dolt server) name a function differently, the function lives here and each
dialect compiles it its own way, so no plane asks which engine it runs on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


class year_month(GenericFunction[str]):
    """``YYYY-MM`` of a DATETIME column."""

    type = sa.String()
    inherit_cache = True


@compiles(year_month, "sqlite")
def _year_month_sqlite(element: year_month, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(sa.func.strftime("%Y-%m", *element.clauses), **kw))


@compiles(year_month, "mysql")
def _year_month_mysql(element: year_month, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(sa.func.date_format(*element.clauses, "%Y-%m"), **kw))
