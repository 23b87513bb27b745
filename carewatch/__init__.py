"""carewatch: the parts that span the rooms (domain types, settings, registry, CLI, wiring)."""
