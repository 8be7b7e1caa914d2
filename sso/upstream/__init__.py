"""Sign-in through an upstream OpenID Connect provider (the portal as a relying party)."""
