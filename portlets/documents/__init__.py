"""公文: outgoing documents (发文) and incoming documents (收文) on the core's workflow engine."""
