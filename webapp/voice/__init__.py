"""Recorded voice (issue #23): the partner's recordings of the returnee pages'
key phrases, per language, played by a speaker button next to the text."""
