"""Alerts: where a detection becomes a stored alert with an owner and an audit trail."""
