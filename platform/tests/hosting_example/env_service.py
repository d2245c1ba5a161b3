"""A service whose workers run in a named environment (six 1.16.0, which only it has)."""

import sys

from pydantic import BaseModel

from mlplatform.hosting import Context, Service

svc = Service("in-env", environment="tests/hosting/six-1.16:v1")


class Nothing(BaseModel):
    pass


class Where(BaseModel):
    python: str
    six: str


@svc.endpoint("/where")
def where(request: Nothing, ctx: Context) -> Where:
    import six  # imported in the handler: the front's own interpreter has another version

    return Where(python=sys.executable, six=six.__version__)
