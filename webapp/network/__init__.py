"""Organisations in a network: preparation, handover with consent (issue #21)."""
