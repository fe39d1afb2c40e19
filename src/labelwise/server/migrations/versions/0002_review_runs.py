"""Review queue: the label checks run over a project's answers (review_runs) and, per review entry, its check,
rank and the label under review.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("n_labels", sa.Integer, nullable=False),
        sa.Column("n_issues", sa.Integer, nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("run_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("rank", sa.Integer, nullable=True))
        batch.add_column(sa.Column("given", sa.JSON, nullable=True))
        batch.create_foreign_key("fk_reviews_run_id", "review_runs", ["run_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint("fk_reviews_run_id", type_="foreignkey")
        batch.drop_column("given")
        batch.drop_column("rank")
        batch.drop_column("run_id")
    op.drop_table("review_runs")
