"""督查督办: tasks from leaders with deadlines, progress feedback, acceptance; overdue in red."""
