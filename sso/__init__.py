"""Sign-in backends (local directory, LDAP, certificates, upstream OIDC), each a plugin."""
