"""工作通知 — work notices: the first built-in portlet, and the one plugin authors copy."""
