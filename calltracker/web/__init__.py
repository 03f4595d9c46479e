"""The web application: one-click unsubscribe, preferences, the calls browser and feeds."""

from calltracker.web.app import create_app

__all__ = ["create_app"]
