"""Conversations kept locally: one JSON file per conversation, written atomically, so a person can
reopen or delete them after a restart (folder: ``Settings.resolved_conversations_dir``).

A conversation is a list of exchanges (question, what was searched, the answer, the document
filter in force); the chat, the follow-up memory and the sources panel are all derived from it,
so they are reset, saved and restored together.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from rag.answer.conversation import Turn
from rag.errors import RagError
from rag.types import Answer

TITLE_CHARS = 60
_ID = re.compile(r"^[0-9a-f]{32}$")


class ConversationError(RagError):
    """A conversation cannot be found, read or written."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Exchange(BaseModel):
    """One question and its answer."""

    question: str
    searched: str
    answer: Answer
    sources_filter: list[str] = Field(default_factory=list, description="Documents the search was limited to.")


class Conversation(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created: datetime = Field(default_factory=_now)
    updated: datetime = Field(default_factory=_now)
    exchanges: list[Exchange] = Field(default_factory=list)

    @property
    def title(self) -> str:
        if not self.exchanges:
            return "New conversation"
        first = " ".join(self.exchanges[0].question.split())
        return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"

    def turns(self) -> list[Turn]:
        """The follow-up memory: what was asked and searched, in order."""
        return [Turn(question=e.question, searched=e.searched) for e in self.exchanges]

    def with_exchange(self, exchange: Exchange) -> Conversation:
        return self.model_copy(update={"exchanges": [*self.exchanges, exchange], "updated": _now()})


class ConversationSummary(BaseModel):
    id: str
    title: str
    updated: datetime

    def label(self) -> str:
        return f"{self.title} · {self.updated.astimezone().strftime('%Y-%m-%d %H:%M')}"


class ConversationStore:
    """The conversations in one folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, conversation_id: str) -> Path:
        if not _ID.match(conversation_id or ""):
            raise ConversationError(f"{conversation_id!r} is not a conversation id.")
        return self.folder / f"{conversation_id}.json"

    def save(self, conversation: Conversation) -> None:
        """Write the conversation atomically: a crash leaves the old file or the whole new one."""
        path = self._path(conversation.id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{path.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(conversation.model_dump_json())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except OSError as error:
            raise ConversationError(
                f"The conversation could not be saved in {self.folder}: {error.strerror or error}. "
                "It stays open in this tab; check the folder (setting conversations_dir)."
            ) from error

    def load(self, conversation_id: str) -> Conversation:
        path = self._path(conversation_id)
        try:
            return Conversation.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ConversationError("That conversation no longer exists (it was deleted).") from error
        except (OSError, ValidationError, ValueError) as error:
            raise ConversationError(f"The saved conversation {path.name} cannot be read: {error}") from error

    def delete(self, conversation_id: str) -> None:
        self._path(conversation_id).unlink(missing_ok=True)

    def list(self) -> list[ConversationSummary]:
        """Saved conversations, most recently updated first; unreadable files are skipped."""
        summaries = []
        for path in self.folder.glob("*.json") if self.folder.is_dir() else []:
            if not _ID.match(path.stem):
                continue
            try:
                conversation = self.load(path.stem)
            except ConversationError:
                continue
            summaries.append(
                ConversationSummary(id=conversation.id, title=conversation.title, updated=conversation.updated)
            )
        return sorted(summaries, key=lambda s: s.updated, reverse=True)
