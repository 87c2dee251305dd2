"""Aftercare monitoring (issue #7): caseload, timeline, follow-ups, the
reintegration check, the organisation overview and the export."""
