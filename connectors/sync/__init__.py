"""The sync engine (one place): reads every connector's streams, applies rows to the unified
customer view with their history, events and notices, and commits each batch together with
its watermark."""
