"""Data quality: time taken, speeding, straightlining, items left unanswered, partial responses."""
