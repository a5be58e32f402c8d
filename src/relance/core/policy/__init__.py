"""Contact policy: one decision point per contact (decide), arbitration between scenarios,
and pacing (quiet hours, frequency caps)."""
