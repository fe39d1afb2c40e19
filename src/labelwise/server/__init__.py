"""The annotation app: project store (SQLAlchemy + Alembic), background trainer, HTTP API and UI.

A client of the public library API (``labelwise.data.load_corpus``, ``labelwise.loop.ActiveLearner``); the
library never imports this package.
"""

from labelwise.server.project import create_project, open_project, project_url, serve
from labelwise.server.store import Conflict, InvalidLabel, NotFound, Store, StoreError

__all__ = ["Conflict", "InvalidLabel", "NotFound", "Store", "StoreError", "create_project", "open_project",
           "project_url", "serve"]
