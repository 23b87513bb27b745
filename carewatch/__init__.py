"""carewatch's shared package: the foundation every room stands on, and apart from it the programs.

Foundation (imported by the rooms; imports no room but `detectors` for the household profiles):
  domain      the types that cross room boundaries (readings, detections, alerts, reasons)
  settings    the one `Settings`, read from CAREWATCH_* variables or a .env file
  db, schema, migrations   SQLAlchemy engine and sessions; every room's tables at the newest revision
  kafka       topics, partitioning and the client plumbing of the scaled-out path
  registry, directory      the households and meters watched (file format; database directory)

Programs (import the rooms, never imported by them):
  runners/    the engines that assemble the rooms: `embedded` (one process) and `faust` (Kafka)
  cli/        the `carewatch` command, the demo and the detectors' evaluation

docs/architecture.md has the picture and the import rules (checked by import-linter in pyproject.toml).
"""
