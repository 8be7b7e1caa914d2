"""The company certificate authority: issues person and department certificates, revokes them,
publishes the CRL, and signs documents with a department's key."""
