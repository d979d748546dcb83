from django.core.management import call_command

from channels_app.models import Channel, CompanyMembership, Role, User, WorkspaceMembership
from channels_app.permissions import settings_spaces


def test_seed_demo_is_idempotent_and_creates_the_three_demo_roles(db):
    call_command("seed_demo")
    call_command("seed_demo")
    assert Channel.objects.count() == 3
    assert CompanyMembership.objects.get(user__email="dana@acme.test").role == Role.ADMIN
    sam = User.objects.get(email="sam@acme.test")
    assert WorkspaceMembership.objects.get(user=sam).role == Role.MEMBER
    assert Channel.objects.filter(inbox__owner=sam).exists()
    assert User.objects.get(email="staff@acme.test").is_staff
    assert [s.kind for s in settings_spaces(sam)] == ["workspace", "personal"]
