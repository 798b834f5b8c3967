"""The REST API and the dashboard (``benchmark-db serve``): FastAPI over the service layer, never the warehouse itself.

``rest.app.create_app(settings)`` builds the application; ``rest.tokens`` keeps the bearer tokens (and imports
nothing heavy, for ``benchmark-db token``).
"""
