"""``portal oidc``: register relying parties, list and remove them, rotate the signing key."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from portal.toolkit import audit, db_session


@click.group("oidc")
def oidc() -> None:
    """OpenID Connect provider: systems that sign their users in through the portal."""


@oidc.command("add-client")
@click.option("--name", required=True, help="The system's name, e.g. 营销系统.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True,
              help="Where the portal may send codes (exact match); repeat for several.")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True,
              help="Where the portal may return after an RP-initiated logout.")
@click.option("--backchannel-logout-uri", default=None,
              help="Where the portal POSTs logout tokens when a session ends.")
@click.option("--first-party", is_flag=True, help="A company system: no consent screen.")
@click.option("--public", is_flag=True,
              help="A client that cannot keep a secret (browser, mobile app): PKCE required.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def add_client(name: str, redirect_uris: tuple[str, ...], post_logout: tuple[str, ...],
               backchannel_logout_uri: str | None, first_party: bool, public: bool,
               as_json: bool) -> None:
    """Register a system; prints its client id and secret (the secret only this once)."""
    from sso.oidc.clients import ClientError
    from sso.oidc.clients import add_client as register

    db = db_session()
    try:
        done = register(db, name, list(redirect_uris), first_party=first_party, public=public,
                        post_logout_redirect_uris=list(post_logout),
                        backchannel_logout_uri=backchannel_logout_uri)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    audit(db, "oidc.client_added", done.client.name, actor="cli",
          client_id=done.client.client_id, first_party=first_party, public=public)
    db.commit()
    if as_json:
        click.echo(json.dumps({"client_id": done.client.client_id,
                               "client_secret": done.secret}, ensure_ascii=False))
        return
    click.echo(f"registered {done.client.name}")
    click.echo(f"client_id:     {done.client.client_id}")
    if done.secret:
        click.echo(f"client_secret: {done.secret}")
        click.echo("The secret is shown only now; the portal keeps only its hash.")
    else:
        click.echo("public client: no secret, PKCE (S256) required")


@oidc.command("list-clients")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def list_clients_cmd(as_json: bool) -> None:
    """List registered systems (never their secrets)."""
    from sso.oidc.clients import list_clients

    rows: list[dict[str, Any]] = [
        {"client_id": c.client_id, "name": c.name, "first_party": c.first_party,
         "public": c.is_public, "redirect_uris": c.redirect_uris,
         "backchannel_logout_uri": c.backchannel_logout_uri}
        for c in list_clients(db_session())]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no clients registered")
    for r in rows:
        kind = ("first-party" if r["first_party"] else "third-party") + \
            (", public" if r["public"] else "")
        click.echo(f"{r['client_id']}  {r['name']}  ({kind})  {' '.join(r['redirect_uris'])}")


@oidc.command("remove-client")
@click.argument("client_id")
@with_appcontext
def remove_client(client_id: str) -> None:
    """Remove a system; its tokens stop working at once."""
    from sso.oidc.clients import remove_client as unregister

    db = db_session()
    if not unregister(db, client_id):
        raise click.ClickException(f"no such client: {client_id}")
    audit(db, "oidc.client_removed", client_id, actor="cli", client_id=client_id)
    db.commit()
    click.echo(f"removed {client_id}")


@oidc.command("rotate-keys")
@with_appcontext
def rotate_keys() -> None:
    """Sign with a new key from now on; the old one stays published until its tokens expire."""
    from sso.oidc.keys import create_key, keep_for, prune

    db = db_session()
    pruned = prune(db, keep_for())
    row = create_key(db)
    audit(db, "oidc.keys_rotated", row.kid, actor="cli", pruned=pruned)
    db.commit()
    click.echo(f"signing key {row.kid} is active; {pruned} expired key(s) removed")
