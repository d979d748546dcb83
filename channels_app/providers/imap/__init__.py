"""imap provider package: everything about it lives here."""
