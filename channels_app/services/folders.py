"""Which folders of a mailbox we import from.

Mail that arrived while we were locked out may have been moved or archived before the reconnect
(filters, rules, people), so we read every selectable folder but Junk and Trash, named by their
RFC 6154 special use (\\Junk, \\Trash; SYNC_SKIP_SPECIAL_USE), or by their usual names on a server
that marks none. Gmail is the exception: each message appears once in its All Mail folder
(\\All) whatever its labels, and All Mail leaves out Spam and Trash, so that one folder is read.
"""

from dataclasses import dataclass

from django.conf import settings
from imapclient import IMAPClient

# RFC 6154's uses, as servers spell them in LIST.
SPECIAL_USES = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
_UNSELECTABLE = ("\\noselect", "\\nonexistent")


@dataclass(frozen=True)
class FolderInfo:
    name: str
    special_use: str = ""


def _listed(client: IMAPClient) -> list[FolderInfo]:
    found = []
    for flags, _delimiter, name in client.list_folders():
        names = [flag.decode() if isinstance(flag, bytes) else str(flag) for flag in flags]
        if any(flag.lower() in _UNSELECTABLE for flag in names):
            continue
        special = next((use for use in SPECIAL_USES for flag in names if flag.lower() == use.lower()), "")
        found.append(FolderInfo(name if isinstance(name, str) else name.decode(), special))
    return found


def folders_to_sync(client: IMAPClient, *, all_mail_only: bool) -> list[FolderInfo]:
    listed = _listed(client)
    if all_mail_only:
        all_mail = [folder for folder in listed if folder.special_use == "\\All"]
        if all_mail:
            return all_mail
    if any(folder.special_use for folder in listed):
        skip = {use.lower() for use in settings.SYNC_SKIP_SPECIAL_USE}
        chosen = [folder for folder in listed if folder.special_use.lower() not in skip]
    else:
        names = {name.lower() for name in settings.SYNC_SKIP_FOLDER_NAMES}
        chosen = [folder for folder in listed if folder.name.lower() not in names]
    # INBOX first: new mail lands there, and a paused import should have brought it in before the rest.
    return sorted(chosen, key=lambda folder: (folder.name.upper() != "INBOX", folder.name))
