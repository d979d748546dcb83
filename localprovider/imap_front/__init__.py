"""The IMAP front of Local mail: answers per mailbox persona and forced answer, before Dovecot.

`ImapFront` is the proxy (server.py); `python -m localprovider.imap_front` runs it as the instance's
process (process.py starts and stops it for `control`); without an upstream it serves an in-memory
mailbox (memory.py) so the recorded answers replay anywhere. Nothing here imports Django.
"""

from localprovider.imap_front.answers import ImapAnswer, forced_answer, refusal_answer
from localprovider.imap_front.server import ImapFront, StateFor

__all__ = ["ImapAnswer", "ImapFront", "StateFor", "forced_answer", "refusal_answer"]
