"""Directory (通讯录): find a colleague by name or user name, with or without JavaScript."""
