"""Results of a wave: scale scores, culture profile, change between waves, charts, exports."""
