"""Activation, sign-in and sessions, for returnees (code + PIN on a bound device)
and staff (password + TOTP)."""
