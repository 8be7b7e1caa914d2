"""The one state machine of a work item: every state, every action, who may take it.

Everything else (service, views, to-do, portlets) asks this module; nothing else decides whether
an action is legal. An illegal action raises ``IllegalTransition``, which the views answer 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    DRAFT = "draft"            # 草稿: only the originator sees and edits it
    PENDING = "pending"        # 待处理: handed to a person or a department inbox, not yet acted on
    HANDLING = "handling"      # 办理中: accepted (or claimed from the department inbox)
    RETURNED = "returned"      # 已退回: back with the originator, who may edit and resubmit
    RECALLED = "recalled"      # 已撤回: the sender took it back before the handler acted
    ESCALATED = "escalated"    # 已升级: in the inbox of the next level of the ladder
    REOPENED = "reopened"      # 已重办: rated 不合格, back with the one who finished it
    FINISHED = "finished"      # 已办结: a result is recorded; the originator may rate it
    RATED = "rated"            # 已评价
    ARCHIVED = "archived"      # 已归档: read-only, found through the archive search


class Role(StrEnum):
    """Who the actor is with respect to the item; the service works this out."""

    ORIGINATOR = "originator"  # created it
    HOLDER = "holder"          # holds it now (the person it was handed to, or who claimed it)
    INBOX = "inbox"            # a member of the department whose inbox holds it
    SENDER = "sender"          # handed it over last
    LEADER = "leader"          # manages a unit involved in the item
    ADMIN = "admin"
    SYSTEM = "system"          # the deadline clock
    PARTICIPANT = "participant"  # held or sent it earlier: may see it, takes no action


class Action(StrEnum):
    SAVE = "save"              # edit a draft (or a returned / recalled item)
    SUBMIT = "submit"          # 提交
    ACCEPT = "accept"          # 签收 / 认领 (claim from a department inbox)
    FORWARD = "forward"        # 转办
    RETURN = "return"          # 退回 to the originator
    FINISH = "finish"          # 办结
    RECALL = "recall"          # 撤回
    ESCALATE = "escalate"      # 升级 (by hand with a reason, or by the deadline clock)
    RATE = "rate"              # 评价 (a passing grade or score)
    REOPEN = "reopen"          # 评价不合格 → back to the finisher
    ARCHIVE = "archive"        # 归档
    DELETE = "delete"          # discard a draft


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[State]
    target: State | None      # None: the state does not change (editing)
    roles: frozenset[Role]


def _t(action: Action, sources: set[State], target: State | None, roles: set[Role]) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles))


S, R, A = State, Role, Action
#: States in which somebody has to act (the item is "open"; its deadline runs).
OPEN = frozenset({S.PENDING, S.HANDLING, S.ESCALATED, S.REOPENED})
#: States in which the originator holds the item and may change it.
EDITABLE = frozenset({S.DRAFT, S.RETURNED, S.RECALLED})
_HOLDING = {S.PENDING, S.HANDLING, S.ESCALATED, S.REOPENED}

TRANSITIONS: dict[Action, Transition] = {t.action: t for t in (
    _t(A.SAVE, set(EDITABLE), None, {R.ORIGINATOR}),
    _t(A.DELETE, {S.DRAFT}, None, {R.ORIGINATOR}),
    _t(A.SUBMIT, set(EDITABLE), S.PENDING, {R.ORIGINATOR}),
    _t(A.ACCEPT, {S.PENDING, S.ESCALATED}, S.HANDLING, {R.HOLDER, R.INBOX}),
    # A recalled item held by an intermediate handler goes on by forwarding or finishing.
    _t(A.FORWARD, _HOLDING | {S.RECALLED}, S.PENDING, {R.HOLDER}),
    _t(A.RETURN, _HOLDING, S.RETURNED, {R.HOLDER}),
    _t(A.FINISH, _HOLDING | {S.RECALLED}, S.FINISHED, {R.HOLDER}),
    _t(A.RECALL, {S.PENDING}, S.RECALLED, {R.SENDER}),
    _t(A.ESCALATE, _HOLDING, S.ESCALATED,
       {R.HOLDER, R.INBOX, R.ORIGINATOR, R.LEADER, R.ADMIN, R.SYSTEM}),
    _t(A.RATE, {S.FINISHED}, S.RATED, {R.ORIGINATOR}),
    _t(A.REOPEN, {S.FINISHED}, S.REOPENED, {R.ORIGINATOR}),
    _t(A.ARCHIVE, {S.FINISHED, S.RATED}, S.ARCHIVED, {R.ORIGINATOR, R.LEADER, R.ADMIN}),
)}


class IllegalTransition(Exception):
    """The action is not possible in the item's state, or not for this actor."""

    def __init__(self, message: str, *, action: Action, state: State) -> None:
        super().__init__(message)
        self.action, self.state = action, state


def allowed(action: Action, state: State, roles: set[Role] | frozenset[Role]) -> bool:
    t = TRANSITIONS[action]
    return state in t.sources and bool(t.roles & roles)


def actions_for(state: State, roles: set[Role] | frozenset[Role]) -> list[Action]:
    """The actions these roles may take now, in declaration order (for the item page)."""
    return [a for a in TRANSITIONS if allowed(a, state, roles)]


def check(action: Action, state: State, roles: set[Role] | frozenset[Role]) -> State:
    """The state after *action*, or ``IllegalTransition`` with a message for the user."""
    from flask_babel import gettext

    t = TRANSITIONS[action]
    if state not in t.sources:
        raise IllegalTransition(
            gettext("“%(action)s” is not possible: the work item is %(state)s.",
                    action=action_label(action), state=state_label(state)),
            action=action, state=state)
    if not t.roles & roles:
        raise IllegalTransition(
            gettext("You cannot “%(action)s” this work item.", action=action_label(action)),
            action=action, state=state)
    return t.target if t.target is not None else state


def state_label(state: State | str) -> str:
    from flask_babel import gettext

    return {
        "draft": gettext("draft"), "pending": gettext("pending"),
        "handling": gettext("in handling"), "returned": gettext("returned"),
        "recalled": gettext("recalled"), "escalated": gettext("escalated"),
        "reopened": gettext("reopened"), "finished": gettext("finished"),
        "rated": gettext("rated"), "archived": gettext("archived"),
    }.get(str(state), str(state))


def action_label(action: Action | str) -> str:
    from flask_babel import gettext

    return {
        "save": gettext("save"), "delete": gettext("delete"), "submit": gettext("submit"),
        "accept": gettext("accept"), "forward": gettext("forward"),
        "return": gettext("return"), "finish": gettext("finish"), "recall": gettext("recall"),
        "escalate": gettext("escalate"), "rate": gettext("rate"), "reopen": gettext("reopen"),
        "archive": gettext("archive"), "create": gettext("create"),
        "remind": gettext("remind"),
    }.get(str(action), str(action))
