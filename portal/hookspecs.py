"""The plugin author's reference: every hook the portal calls, when, and what it may return.

A plugin is a module (or object) with functions named like these hooks and decorated with
``portal.toolkit.hookimpl``; it is found through the ``portal`` entry point group. Hooks are always
called with keyword arguments, so an implementation may accept only the ones it needs, and a new
parameter never breaks an old plugin. Every hook here is documented in ``docs/plugins.md`` (a test
checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask
    from sqlalchemy.orm import Session

    from portal.auth import AuthBackend, Principal
    from portal.calendar import CalendarEvent
    from portal.events import DomainEvent
    from portal.jobs import PeriodicJob
    from portal.live import LiveBadge
    from portal.models import Person
    from portal.portlet import Portlet
    from portal.search import SearchResult
    from portal.signing import SignatureInfo
    from portal.todo import TodoItem

PROJECT = "portal"
hookspec = pluggy.HookspecMarker(PROJECT)


# ---------------------------------------------------------------------------------------------
# Registration: what a plugin brings
# ---------------------------------------------------------------------------------------------


@hookspec
def portal_portlets() -> Iterable[Portlet]:
    """Return the portlets this plugin provides.

    Called once at start-up. Each ``Portlet`` declares its id, titles, category, who may add it,
    sizes, modes, preferences schema, cache policy and render timeout (see ``portal.portlet``).
    """


@hookspec
def portal_auth_backends(app: Flask) -> Iterable[AuthBackend]:
    """Return sign-in backends (local directory, LDAP, certificate...).

    Called once at start-up. The ``AUTH_BACKENDS`` setting chooses which are used and in what
    order; a backend that is not listed there is never asked.
    """


@hookspec
def portal_connectors(app: Flask) -> Iterable[Any]:
    """Return connectors to source systems (monopoly, marketing, logistics...).

    Called once at start-up; the sync engine schedules them.
    """


@hookspec
def portal_notification_channels(app: Flask) -> Iterable[Any]:
    """Return notification channels (in-portal, e-mail, SMS...) that deliver notices to people.

    Each is a ``portal.notify.NotificationChannel`` (a ``name`` and a ``label``). ``notify``
    refuses channel names nobody registered. Delivery happens in the same plugin's
    ``portal_handle_event``: ``notification_for(event, name)`` gives the notification when the
    event is one for this channel; key what you send by ``event.id`` so it goes out once.
    """


@hookspec
def portal_blueprints(app: Flask) -> Iterable[Blueprint]:
    """Return Flask blueprints to register, for pages that are not a portlet's own actions.

    A portlet's actions belong on the blueprint declared in its ``Portlet``; the core mounts it
    under ``/p/<portlet id>/``.
    """


@hookspec
def portal_migrations() -> str | None:
    """Return the folder of this plugin's Alembic migration scripts, or ``None``.

    Each plugin owns its tables: its scripts carry a ``branch_labels`` of their own and depend on
    the core's revisions they need. ``portal db upgrade`` applies every plugin's heads.
    """


@hookspec
def portal_translations() -> str | None:
    """Return the folder of this plugin's message catalogues (``<locale>/LC_MESSAGES``)."""


@hookspec
def portal_demo_data(app: Flask, session: Any, seed: int) -> None:
    """Add this plugin's own demo records after the core's demo organisation was generated.

    *session* is an open SQLAlchemy session (the core commits it); derive all randomness from
    *seed* so the demo is the same on every machine.
    """


@hookspec
def portal_cli(cli: click.Group) -> None:
    """Add commands to the ``portal`` command line (``cli.add_command(...)``)."""


# ---------------------------------------------------------------------------------------------
# Runtime: what a plugin contributes while the portal runs
# ---------------------------------------------------------------------------------------------


@hookspec
def portal_startup(app: Flask) -> None:
    """Called once the app is configured and every plugin is registered.

    Do light work only (register template filters, read settings); never connect to a remote
    system here, since start-up must not depend on it.
    """


@hookspec
def portal_signed_in(principal: Principal, session_id: str) -> None:
    """A person has just signed in (any backend); *session_id* is the new session's id.

    Runs inside the sign-in request, before its commit: keep it quick. Exceptions are logged
    and never stop the sign-in.
    """


@hookspec
def portal_signed_out(principal: Principal, session_id: str) -> None:
    """The session *session_id* of *principal* has ended (sign-out, or signed out elsewhere).

    Single sign-out hangs here: an OpenID Connect provider tells its relying parties.
    Exceptions are logged and never stop the sign-out.
    """


@hookspec
def portal_handle_event(event: DomainEvent) -> None:
    """React to a domain event (customer changed, notice submitted, work item forwarded...).

    Called after the transaction that wrote the event has committed, once per event and
    implementation; it may be called again for the same event after a crash, so make the
    handling idempotent (key what you write by ``event.id``). Exceptions are logged and the
    event is retried; they never reach the user who caused it.

    Events are delivered in batches, each plugin's share of a batch in one savepoint; when
    the handler raises on one event, the batch's writes are rolled back and the handler runs
    again event by event. So do not reach outside the database (send an SMS, call a system)
    before the writes that record it: a rolled-back record means it may be done again.
    """


@hookspec
def portal_handle_events(events: list[DomainEvent]) -> None:
    """Like ``portal_handle_event``, for a plugin that handles a list of events in one go.

    For plugins that write for many events at once (the notices channel inserts every
    notice of a sync batch with one statement): implement this *or* ``portal_handle_event``,
    not both. The list is in event order and may hold any event type; ignore the others.
    If the handler raises, it is called again with one event at a time.
    """


@hookspec
def portal_todo_items(principal: Principal) -> Iterable[TodoItem]:
    """Return this plugin's open to-do items for *principal*, for the unified to-do list.

    Return ``portal.toolkit.TodoItem`` objects, at most a hundred or so, newest first; the
    to-do portlet merges every plugin's items and sorts them by deadline.
    """


@hookspec
def portal_search(principal: Principal, query: str) -> Iterable[SearchResult]:
    """Return this plugin's search results for *query* that *principal* may see.

    Called by the unified search (the box in the page header, ``/search?q=``) with a query that
    is trimmed, not empty and at most ``portal.search.MAX_QUERY`` characters. Return
    ``portal.toolkit.SearchResult`` objects, the best twenty or so (a few more are counted,
    only ``PER_SOURCE`` are shown per source); escape what you put in a ``Markup`` snippet.
    Keep it fast (indexed queries, a LIMIT): the page waits for every plugin. A plugin that
    raises is logged and left out of the results.
    """


@hookspec
def portal_template_vars(principal: Principal | None) -> dict[str, Any] | None:
    """Return extra variables for every page template (merged, later plugins win)."""


@hookspec(firstresult=True)
def portal_posts_for(principal: Principal, person: Person | None) -> list[str] | None:
    """Return the post codes *principal* holds, overriding the post assignments in the database.

    The first plugin that returns a list wins (e.g. an LDAP plugin mapping groups to posts);
    return ``None`` to leave the decision to the next one. The core's own implementation, which
    reads post assignments, runs last. *person* is the person's row when the caller has it
    (at sign-in): its assignments, once loaded, are read without a query.
    """


@hookspec(firstresult=True)
def portal_step_up_url(level: str, next_url: str) -> str | None:
    """Return the URL where a signed-in person raises the session to assurance *level*.

    Called when a page, portlet or action needs a stronger sign-in than the session has (see
    ``portal.assurance``); the person follows the link and should come back to *next_url* (a
    path on this portal). Return ``None`` for levels this plugin cannot give; the first URL
    returned wins. The certificate sign-in plugin answers for ``"certificate"``.
    """


@hookspec
def portal_sign_in_methods(next_url: str) -> Iterable[tuple[str, str]]:
    """Return other ways to sign in, as ``(label, url)`` pairs shown under the password form.

    *next_url* is where the person wants to go after signing in (a path on this portal, or
    ``""``); carry it in the URL. Labels are translated text. The certificate sign-in plugin
    adds "证书登录" here.
    """


@hookspec
def portal_admin_links() -> Iterable[tuple[str, str, str]]:
    """Return ``(label, url, description)`` entries for the administration page.

    For a plugin's own admin pages (certificates, OpenID Connect clients...); called when an
    administrator opens ``/admin/``, in the request, so ``url_for`` works. Labels and
    descriptions are translated text. Protect the pages themselves with ``admin_required``.
    """


@hookspec
def portal_live_badges(principal: Principal) -> Iterable[LiveBadge] | None:
    """Return counters for the page header (unread notices...) that live updates keep current.

    Called when a signed-in page's header is rendered; keep it cheap (no queries): the page
    fetches each badge's ``count_url`` itself, and again whenever a live message asks to
    refresh the badge's ``portlet``.
    """


@hookspec
def portal_periodic_jobs() -> Iterable[PeriodicJob]:
    """Return this plugin's periodic jobs (``portal.toolkit.PeriodicJob``): deadline clocks,
    reminders, recomputations.

    The worker runs each one every ``every_seconds`` — once across all workers — in an app
    context with a session that is committed after the job returns; events it emits are
    dispatched after. Keep a job short and idempotent (it may run again after a crash), and
    take "now" from the clock each time rather than from a module constant.
    """


@hookspec
def portal_indicators(app: Flask) -> Iterable[Any]:
    """Return the key figures (指标) this plugin owns the data of, as ``portal.toolkit.Indicator``.

    Called once per app when the indicators are first needed. Each declares its id, zh/en name,
    unit, formula, source, org levels (person / unit / city), periods (day / month / year),
    refresh, target per level (``None``: "未设目标") and direction, and a ``compute(session,
    period)`` returning ``Value`` rows for every subject. A compute function that raises or
    returns nonsense (not a number, NaN, negative, a share above 1) makes only that indicator
    unavailable; it is logged and the pages still render.
    """


@hookspec
def portal_calendar_events(principal: Principal, start: datetime,
                           end: datetime) -> Iterable[CalendarEvent]:
    """Return this plugin's calendar entries for *principal* that overlap [*start*, *end*).

    Return ``portal.toolkit.CalendarEvent`` objects (meetings, deadlines, trips, leave...); the
    calendar merges every plugin's events, sorts them by start and exports them as iCalendar.
    Only what *principal* may see; a plugin that raises is logged and left out.
    """


# ---------------------------------------------------------------------------------------------
# Office automation: workflow definitions and document signatures (issue 8)
# ---------------------------------------------------------------------------------------------


@hookspec
def portal_workflow_definitions() -> Iterable[str | Path]:
    """Return workflow definition files (YAML) or directories of them, for ``portal.workflow``.

    Called once at start-up; every definition is checked then (unknown or unreachable steps,
    bad assignee rules or conditions) and a plugin with a bad one is marked broken, with the
    file and step in the error. Definition ids must be unique across plugins.
    """


@hookspec(firstresult=True)
def portal_sign(db: Session, unit_id: int, data: bytes) -> bytes | None:
    """Sign *data* with the certificate of org unit *unit_id*: a detached CMS (PKCS#7) DER.

    Return ``None`` when this plugin cannot sign for the unit; raise ``portal.signing.
    SigningError`` (with a message for the person) when it should and cannot (no valid
    certificate). The company CA plugin implements it.
    """


@hookspec(firstresult=True)
def portal_verify_signature(db: Session, signature: bytes,
                            data: bytes) -> SignatureInfo | None:
    """Check a detached signature of *data*; return who signed (``portal.signing.
    SignatureInfo``), or raise ``portal.signing.SignatureInvalid`` when the data was changed,
    the signature is malformed or the signer is not trusted. ``None``: not this plugin's."""


@hookspec
def portal_indicator_jobs(app: Flask, session: Any, day: Any) -> None:
    """Refresh this plugin's per-day derived data for *day* (a ``date``), such as the
    connectors' integrity stars; called by ``portal indicators recompute`` in its transaction,
    before the indicators are computed. Exceptions are logged; the snapshots are still made.
    """
