"""The OpenID Connect provider that integrated systems (营销系统...) sign their users in with.

A plugin like any other: its own tables and migrations, blueprints, commands and catalogue.
"""
