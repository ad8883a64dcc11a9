"""Staff sign-in and sign-out, and the session that follows."""
