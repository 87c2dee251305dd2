"""Support requests and concern reports, with their thread between the person and staff."""
