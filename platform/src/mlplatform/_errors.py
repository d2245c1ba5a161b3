"""The root of the platform's exception types; each layer derives its own from it."""


class MLPlatformError(Exception):
    """Base class of every error the platform raises on purpose."""
