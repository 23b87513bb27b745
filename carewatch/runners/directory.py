"""Where every runner starts: the database at the newest schema, the registry file imported, the directory read."""

from __future__ import annotations

from rich.console import Console

from api.directory_sync import sync_registry_file
from carewatch.db import make_engine, make_sessions
from carewatch.directory import load_registry
from carewatch.registry import Registry
from carewatch.schema import create_schema
from carewatch.settings import Settings


async def prepare_directory(settings: Settings, console: Console) -> Registry:
    """Import the registry file named in settings, if there is one, and read the pipeline's registry from the directory."""
    engine = make_engine(settings.database_url)
    try:
        await create_schema(engine)
        async with make_sessions(engine).begin() as session:
            imported = await sync_registry_file(session, settings.registry_path)
            registry = await load_registry(session)
    finally:
        await engine.dispose()
    if imported is not None:
        console.print(f"registry file {imported.describe()}")
    return registry
