"""The local user directory backend: passwords hashed in the portal's own person table."""
