"""A returnee's own data: consent choices, export, deletion; the access ledger."""
