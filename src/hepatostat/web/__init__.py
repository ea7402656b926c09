"""The workbench: one web application over a review project (screening,
extraction, digitiser), served by ``hepatostat workbench PROJECT``.

The server process owns the project database (:mod:`.db`); accounts,
sessions, CSRF tokens and roles are in :mod:`.auth`; :func:`create_app`
(:mod:`.app`) builds the Starlette application and loads the feature modules
listed in :data:`~.app.WEB_MODULES`. See ``README.md`` in this folder for how
a feature module adds routes, tables, navigation and templates.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(project_path, **kwargs):
    """Build the workbench application (see :func:`hepatostat.web.app.create_app`)."""
    from .app import create_app as _create

    return _create(project_path, **kwargs)
