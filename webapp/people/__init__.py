"""The accounts of an organisation: creating them, who follows whom, disabling."""
