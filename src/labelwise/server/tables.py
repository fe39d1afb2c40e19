"""The project database schema (SQLAlchemy 2 ORM). Alembic migrations in ``migrations/`` create the same
tables; ``tests/server/test_migrations.py`` checks that the two never drift apart.

History is never overwritten: changing an answer adds a ``labels`` row and marks the old one superseded;
undo marks a row retracted. Room is left for later issues: ``tokens`` on items (NER spans), ``role`` on
annotators and the ``reviews`` table (label-noise review queue).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Project(Base):
    """One row: the project's settings (task, label set, model, strategy, retrain policy, secret)."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(20))
    labels: Mapped[list] = mapped_column(JSON)
    descriptions: Mapped[dict] = mapped_column(JSON, default=dict)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Item(Base):
    """A text of the pool. ``key`` is the id the loader gave it (stringified); ``id`` is internal."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[list | None] = mapped_column(JSON, nullable=True)
    meta: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    position: Mapped[int] = mapped_column(Integer)


class Annotator(Base):
    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="annotator")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Label(Base):
    """One answer. ``is_current`` is true for at most one row per (item, annotator)."""

    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    value: Mapped[object] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    source: Mapped[str] = mapped_column(String(20), default="annotator")  # annotator | import | review

    __table_args__ = (
        Index("ix_labels_item", "item_id"),
        Index("ix_labels_annotator_created", "annotator_id", "created_at"),
        Index("ux_labels_current", "item_id", "annotator_id", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
    )


class Skip(Base):
    __tablename__ = "skips"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("item_id", "annotator_id", name="uq_skips_item_annotator"),)


class Lease(Base):
    """At most one lease per item (primary key): the database itself forbids a double lease."""

    __tablename__ = "leases"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    session: Mapped[str] = mapped_column(String(64), default="")  # the browser tab holding it
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (Index("ix_leases_annotator", "annotator_id"),)


class ModelRun(Base):
    """One background retraining: how many labels, the cross-validated estimate, the ranking it produced."""

    __tablename__ = "model_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    n_labels: Mapped[int] = mapped_column(Integer)
    accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    metric: Mapped[str | None] = mapped_column(String(40), nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    ranking: Mapped[list | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Review(Base):
    """Label-noise review entries (issue 5): a suspected label, and what the reviewer decided."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), nullable=True)
    quality: Mapped[float | None] = mapped_column(Float, nullable=True)
    suggested: Mapped[object | None] = mapped_column(JSON, nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)  # keep | change
    new_label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # migration 0002 (labelwise.server.review): which check found it, its place in that ranking, the label
    # under review as it was then
    run_id: Mapped[int | None] = mapped_column(ForeignKey("review_runs.id"), nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    given: Mapped[object | None] = mapped_column(JSON, nullable=True)


class ReviewRun(Base):
    """One label check over the project's answers (migration 0002): status, what it found, annotator quality."""

    __tablename__ = "review_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # running | done | error
    n_labels: Mapped[int] = mapped_column(Integer)
    n_issues: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
