"""An organisation's own settings, kept by its coordinators."""
