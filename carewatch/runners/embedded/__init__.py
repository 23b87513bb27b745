"""The embedded engine: MQTT → detectors → alerts in one process, one database transaction per batch."""
