"""Where every runner starts: the database at the newest schema, the registry file imported, the directory read."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from api.directory_sync import AlreadyApplied, FileImport, sync_registry_file
from carewatch.directory import load_registry
from carewatch.registry import Registry
from carewatch.schema import in_current_database
from carewatch.settings import Settings


async def prepare_directory(settings: Settings, console: Console) -> Registry:
    """Import the registry file named in settings, if there is one, and read the pipeline's registry from the directory."""

    async def import_and_read(session: AsyncSession) -> tuple[FileImport | AlreadyApplied | None, Registry]:
        return await sync_registry_file(session, settings.registry_path), await load_registry(session)

    imported, registry = await in_current_database(settings.database_url, import_and_read)
    if imported is not None:
        console.print(f"registry file {imported.describe()}")
    return registry
