"""Office affairs: affairs_room, affairs_booking, affairs_vehicle, affairs_vehicle_request,
affairs_trip.

Revision ID: affairs_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "affairs_0001"
down_revision = None
branch_labels = ("affairs",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "affairs_room",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
        sa.Column("location", sa.String(120), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "affairs_booking",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("room_id", sa.Integer(), sa.ForeignKey("affairs_room.id", name="fk_affairs_booking_room_id_affairs_room"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("end_at", sa.DateTime(), nullable=False),
        sa.Column("booker_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_affairs_booking_booker_id_person"), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("end_at > start_at", name="ck_affairs_booking_period"),
    )
    op.create_index("ix_affairs_booking_room_time", "affairs_booking", ["room_id", "start_at", "end_at"])
    op.create_index("ix_affairs_booking_booker_id", "affairs_booking", ["booker_id"])
    op.create_table(
        "affairs_vehicle",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plate", sa.String(20), nullable=False, unique=True),
        sa.Column("model", sa.String(60), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("driver", sa.String(40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "affairs_vehicle_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("requester_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_affairs_vreq_requester_id_person"), nullable=False),
        sa.Column("destination", sa.String(120), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("passengers", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(), nullable=False),
        sa.Column("end_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("approver_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_affairs_vreq_approver_id_person"), nullable=True),
        sa.Column("vehicle_id", sa.Integer(), sa.ForeignKey("affairs_vehicle.id", name="fk_affairs_vreq_vehicle_id_affairs_vehicle"), nullable=True),
        sa.Column("driver", sa.String(40), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("end_at > start_at", name="ck_affairs_vreq_period"),
    )
    op.create_index("ix_affairs_vehicle_request_requester_id", "affairs_vehicle_request", ["requester_id"])
    op.create_index("ix_affairs_vehicle_request_status", "affairs_vehicle_request", ["status"])
    op.create_index("ix_affairs_vreq_vehicle_time", "affairs_vehicle_request", ["vehicle_id", "start_at", "end_at"])
    op.create_table(
        "affairs_trip",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("traveller_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_affairs_trip_traveller_id_person"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_unit.id", name="fk_affairs_trip_unit_id_org_unit"), nullable=True),
        sa.Column("destination", sa.String(120), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("start_on", sa.DateTime(), nullable=False),
        sa.Column("end_on", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("approver_id", sa.Integer(), sa.ForeignKey("person.id", name="fk_affairs_trip_approver_id_person"), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("end_on >= start_on", name="ck_affairs_trip_period"),
    )
    op.create_index("ix_affairs_trip_traveller_id", "affairs_trip", ["traveller_id"])
    op.create_index("ix_affairs_trip_unit_id", "affairs_trip", ["unit_id"])
    op.create_index("ix_affairs_trip_status", "affairs_trip", ["status"])


def downgrade() -> None:
    for table in ("affairs_trip", "affairs_vehicle_request", "affairs_vehicle",
                  "affairs_booking", "affairs_room"):
        op.drop_table(table)
