"""Your own account: the browsers signed in as you."""
