"""信息交换平台: the admins' pages that watch the connectors."""
