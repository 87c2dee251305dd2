"""Check-ins: mood, five quick questions and a note; silence is a signal too."""
