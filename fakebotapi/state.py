"""Plain data kept by the emulator: users, chats, members, recorded sends and API calls."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "ADMIN_RIGHTS",
    "ApiCall",
    "ChatState",
    "Member",
    "SentMessage",
    "User",
    "chat_member_dict",
]


@dataclass
class User:
    """A Telegram user as injected by tests (``to_dict`` gives the Bot API User object)."""

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


# Required booleans of ChatMemberAdministrator (PTB 22.8) and the optional ones we fill.
ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_ADMIN_OPTIONAL_CHANNEL = ("can_post_messages", "can_edit_messages")
_ADMIN_OPTIONAL_GROUP = ("can_pin_messages",)
_RESTRICTED_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)


@dataclass
class Member:
    """Membership of one user in one chat."""

    status: str = "member"  # creator | administrator | member | restricted | left | kicked
    rights: dict[str, bool] = field(default_factory=dict)
    custom_title: str | None = None
    until_date: int = 0


def chat_member_dict(user: dict[str, Any], member: Member, chat_type: str) -> dict[str, Any]:
    """The Bot API ChatMember object for ``member`` (shape depends on the status)."""
    status = member.status
    data: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        data["is_anonymous"] = member.rights.get("is_anonymous", False)
    elif status == "administrator":
        defaults = {k: False for k in ADMIN_RIGHTS}
        defaults.update(can_manage_chat=True, can_invite_users=True)
        optional = _ADMIN_OPTIONAL_CHANNEL if chat_type == "channel" else _ADMIN_OPTIONAL_GROUP
        for key in optional:
            defaults[key] = False
        if chat_type == "supergroup":
            defaults["can_manage_topics"] = False
        defaults.update(member.rights)
        data.update(defaults)
    elif status == "restricted":
        data["is_member"] = member.rights.get("is_member", True)
        for key in _RESTRICTED_RIGHTS:
            data[key] = member.rights.get(key, False)
        data["until_date"] = member.until_date
    elif status == "kicked":
        data["until_date"] = member.until_date
    if member.custom_title and status in ("creator", "administrator"):
        data["custom_title"] = member.custom_title
    return data


@dataclass
class ChatState:
    """One chat known to the emulator."""

    chat: dict[str, Any]
    members: dict[int, Member] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False  # private chats: the user blocked the bot
    migrated_to: int | None = None
    menu_button: dict[str, Any] | None = None

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    @property
    def type(self) -> str:
        return str(self.chat["type"])

    def take_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


@dataclass
class SentMessage:
    """One outgoing message (or edit of one) recorded from the bot, in order."""

    chat_id: int
    message_id: int
    text: str | None  # visible text (for documents: the caption)
    raw_text: str | None  # text exactly as the bot sent it (HTML source, if any)
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    date: int
    method: str
    edited: bool = False
    link_preview_options: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    message: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def buttons(self) -> list[dict[str, Any]]:
        """All inline keyboard buttons, flattened row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ApiCall:
    """One request the bot made: method, merged parameters and the outcome."""

    method: str
    params: dict[str, Any]
    time: float = field(default_factory=time.time)
    status: int = 0
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
