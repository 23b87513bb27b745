"""The HTTP API and the duty console (FastAPI)."""
