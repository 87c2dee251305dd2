"""Alerts: the inbox, an alert's ladder, acknowledging and resolving; signals from
the other areas become alerts here."""
