"""协同工作 — collaboration between the three staff (三员协同) and the departments behind them.

A work item (协同事项) is created, handed from person to person or department, escalated,
finished, rated and archived; every step is kept in an immutable trace (反馈痕迹).
"""
