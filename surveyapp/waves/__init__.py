"""Waves of a programme, their audience and personal links, and the response-rate dashboard."""
