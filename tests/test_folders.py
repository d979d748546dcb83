"""Which folders are read: all but Junk and Trash, by special use or by name; Gmail's All Mail alone."""

from channels_app.services.folders import FolderInfo, folders_to_sync


class Listing:
    """An IMAPClient that only answers LIST, as servers do."""

    def __init__(self, *entries):
        self.entries = entries

    def list_folders(self):
        return [(tuple(flag.encode() for flag in flags), b"/", name) for flags, name in self.entries]


def test_every_selectable_folder_but_junk_and_trash_inbox_first():
    client = Listing(
        (("\\HasNoChildren",), "Archive"),
        (("\\Junk",), "Spam"),
        (("\\Trash",), "Bin"),
        (("\\Sent",), "Sent"),
        (("\\Noselect", "\\HasChildren"), "Customers"),
        (("\\HasNoChildren",), "Customers/Acme"),
        ((), "INBOX"),
    )
    assert [f.name for f in folders_to_sync(client, all_mail_only=False)] == [
        "INBOX",
        "Archive",
        "Customers/Acme",
        "Sent",
    ]


def test_without_special_uses_junk_and_trash_are_known_by_name():
    client = Listing(((), "INBOX"), ((), "Junk"), ((), "Deleted Items"), ((), "Projects"))
    assert [f.name for f in folders_to_sync(client, all_mail_only=False)] == ["INBOX", "Projects"]


def test_gmail_reads_all_mail_alone_and_everything_else_when_there_is_none():
    gmail = Listing(((), "INBOX"), (("\\All",), "[Gmail]/All Mail"), (("\\Junk",), "[Gmail]/Spam"), ((), "Label"))
    assert folders_to_sync(gmail, all_mail_only=True) == [FolderInfo("[Gmail]/All Mail", "\\All")]
    plain = Listing(((), "INBOX"), ((), "Label"))
    assert [f.name for f in folders_to_sync(plain, all_mail_only=True)] == ["INBOX", "Label"]


def test_skipped_special_uses_are_a_setting(settings):
    settings.SYNC_SKIP_SPECIAL_USE = ["\\Junk"]
    client = Listing(((), "INBOX"), (("\\Trash",), "Trash"), (("\\Junk",), "Junk"))
    assert [f.name for f in folders_to_sync(client, all_mail_only=False)] == ["INBOX", "Trash"]
