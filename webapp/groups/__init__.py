"""Peer groups: members, facilitators, meetings, attendance and the group board."""
