"""The audit trail of staff actions: recording, searching and downloading it."""
