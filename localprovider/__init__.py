"""A loopback stand-in for a mail provider (Google/Microsoft): OAuth 2 server + Dovecot IMAP.

`localprovider.control` is the Python API; `python -m localprovider` the CLI. Importing this package
does not import Django, so the main app's tests can use `control` without mixing the two settings.
"""
