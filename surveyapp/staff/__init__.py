"""Staff accounts, their roles and programmes, and the permissions table."""
