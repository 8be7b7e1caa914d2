"""我的待办 — the unified to-do list: what every plugin says you have to do, by deadline."""
