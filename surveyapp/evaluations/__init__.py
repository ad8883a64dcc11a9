"""The evaluation of a programme over time: an evaluation after each session, and outcomes
by attendance (dose)."""
