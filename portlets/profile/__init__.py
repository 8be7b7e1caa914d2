"""My profile (我的信息): who the portal thinks you are — unit, posts and roles."""
