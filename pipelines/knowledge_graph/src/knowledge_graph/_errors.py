"""Exception types of the knowledge_graph pipeline."""

from mlplatform import MLPlatformError


class KnowledgeGraphError(MLPlatformError):
    """Base class of every error the knowledge_graph pipeline raises on purpose."""


class MatchConfigError(KnowledgeGraphError):
    """The matching configuration is malformed or names a column the records lack."""


class InputDataError(KnowledgeGraphError):
    """Input records (or pairs, matches) do not have the shape the pipeline needs."""
