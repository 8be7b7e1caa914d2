"""The three-staff rule (三员): every active customer has one inspector, one account manager and
one deliveryman, each an active person holding that post. The database enforces presence; this
report finds the rest (people who left, or who hold another post)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from portal.models import Customer, Person, Post, PostAssignment

#: Post code each staff column must hold.
STAFF_POSTS = {
    "inspector_id": "inspector",
    "account_manager_id": "account_manager",
    "deliveryman_id": "deliveryman",
}


@dataclass(frozen=True)
class StaffProblem:
    customer_id: int
    license_no: str
    name: str
    role: str
    problem: str  # missing | inactive | wrong_post


def three_staff_report(session: Session, limit: int | None = None) -> list[StaffProblem]:
    problems: list[StaffProblem] = []
    for column, post_code in STAFF_POSTS.items():
        person = aliased(Person)
        holds = (select(PostAssignment.id).join(Post, Post.id == PostAssignment.post_id)
                 .where(PostAssignment.person_id == person.id, Post.code == post_code)
                 .exists())
        staff_col = getattr(Customer, column)
        query = (
            select(Customer.id, Customer.license_no, Customer.name, staff_col,
                   person.active, holds)
            .outerjoin(person, person.id == staff_col)
            .where(Customer.status == "ACTIVE",
                   or_(staff_col.is_(None), person.active.is_(False), and_(~holds)))
            .order_by(Customer.id)
        )
        if limit:
            query = query.limit(limit)
        for cid, lic, name, staff_id, active, held in session.execute(query):
            problem = "missing" if staff_id is None else (
                "inactive" if not active else "wrong_post" if not held else "ok")
            problems.append(StaffProblem(cid, lic, name, post_code, problem))
    problems.sort(key=lambda p: (p.customer_id, p.role))
    return problems[:limit] if limit else problems
