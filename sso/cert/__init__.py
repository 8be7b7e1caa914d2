"""Certificate sign-in: a client certificate from the company CA, verified by the TLS proxy."""
