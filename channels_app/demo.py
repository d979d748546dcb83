"""The demo company, shared by `seed_demo` (the data) and `run_demo` (the sign-ins it prints)."""

from dataclasses import dataclass

DEMO_PASSWORD = "demo-password-1"
# The demo mailboxes' password at the Local mail provider (its sign-in page asks for it on Reauthorize).
MAILBOX_PASSWORD = "mail-password-1"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    role: str  # what the person is, printed by `make run`
    is_staff: bool = False


DANA = DemoPerson("dana@acme.test", "Dana", "company admin: manages every shared inbox")
SAM = DemoPerson("sam@acme.test", "Sam", "teammate: owns sam@acme.test, plain member of the Support workspace")
WES = DemoPerson("wes@acme.test", "Wes", "workspace admin of Sales")
STAFF = DemoPerson("staff@acme.test", "Stella", "staff: Django admin at /admin/", is_staff=True)
PEOPLE = (DANA, SAM, WES, STAFF)
