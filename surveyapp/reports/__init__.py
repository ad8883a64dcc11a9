"""Reports per team: a PDF per team of a wave, and a ZIP of them all."""
