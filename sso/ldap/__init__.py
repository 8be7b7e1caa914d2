"""LDAP directory sign-in: search with a service account, bind as the person, provision them."""
