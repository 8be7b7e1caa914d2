"""Customer distribution (客户分布): active customers of your units by grade band and format."""
