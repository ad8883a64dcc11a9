"""Invitations and reminders by email: the plan, the templates, the outbox and sending."""
