"""How revisions are compared with the models and written: shared by env.py and the tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime

from carewatch.db import UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """UTCDateTime is Python-side only: in a revision it is the plain timezone-aware DateTime it stores as."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def compare_type(context: Any, inspected: Any, metadata_column: Any, inspected_type: Any, metadata_type: Any) -> bool | None:
    """A UTCDateTime column matches any DATETIME/TIMESTAMP the database reports; everything else as Alembic does."""
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    return None


COMPARE_OPTIONS: dict[str, Any] = {"compare_type": compare_type, "compare_server_default": True}
