"""microsoft provider package: everything about it lives here."""
