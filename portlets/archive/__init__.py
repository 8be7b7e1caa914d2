"""档案 (archive): finished records, full-text searchable in Chinese."""
