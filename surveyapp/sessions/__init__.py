"""A programme over time: sessions, who attended, an evaluation after each, and dose."""
