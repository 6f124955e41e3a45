"""Errors a user can act on. Every message says what went wrong and what to do about it.

The CLI and the app show ``str(error)`` of a ``RagError`` and never a traceback.
"""


class RagError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(RagError):
    """The configuration (environment, config file or arguments) is invalid."""


class InvalidQuestionError(RagError):
    """The question is empty, too long, or otherwise unusable."""


class CorpusError(RagError):
    """A source folder or file cannot be read (missing, unreadable, not UTF-8, empty corpus)."""


class DocumentFileMissingError(CorpusError):
    """An indexed document's file is no longer in the source folder: it can be removed from the
    index, or the file put back. ``source`` and ``folder`` say which, for callers that offer that."""

    def __init__(self, source: str, folder: str):
        self.source = source
        self.folder = folder
        super().__init__(
            f"{source} is no longer in the folder {folder}. Remove it from the index, "
            "or put the file back and re-ingest it."
        )


class StoreError(RagError):
    """The index store is missing, empty, corrupt, unreachable, or built with other settings."""


class EmptyStoreError(StoreError):
    """The index holds no documents yet."""


class LLMError(RagError):
    """The LLM server failed: unreachable, missing key, rejected request, timeout."""


class ModeUnavailableError(RagError):
    """An answer mode was requested that this configuration cannot provide."""


class InvalidArgumentError(RagError):
    """An argument of a request (top_k, a source filter) is out of range or names nothing."""


class StoreBusyError(StoreError):
    """Another ingest is writing to the same store."""


class IncompleteStoreError(StoreError):
    """An ingest into the store was interrupted (or is running) and no complete index is at hand."""
