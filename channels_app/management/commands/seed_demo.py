"""Create the demo company idempotently: running it twice changes nothing."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from channels_app.demo import DANA, DEMO_PASSWORD, PEOPLE, SAM, WES
from channels_app.models import (
    Channel,
    Company,
    CompanyMembership,
    Inbox,
    InboxKind,
    Provider,
    Role,
    User,
    Workspace,
    WorkspaceMembership,
)


class Command(BaseCommand):
    help = "Create the demo company Acme with its people, workspaces, inboxes and channels."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        company, _ = Company.objects.get_or_create(name="Acme")
        support, _ = Workspace.objects.get_or_create(company=company, name="Support")
        sales, _ = Workspace.objects.get_or_create(company=company, name="Sales")

        users: dict[str, User] = {}
        for person in PEOPLE:
            user, created = User.objects.get_or_create(
                email=person.email,
                defaults={
                    "username": person.email,
                    "first_name": person.first_name,
                    "is_staff": person.is_staff,
                    "is_superuser": person.is_staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            users[person.email] = user

        CompanyMembership.objects.get_or_create(user=users[DANA.email], company=company, defaults={"role": Role.ADMIN})
        for person in (SAM, WES):
            CompanyMembership.objects.get_or_create(user=users[person.email], company=company)
        WorkspaceMembership.objects.get_or_create(user=users[SAM.email], workspace=support)
        WorkspaceMembership.objects.get_or_create(user=users[WES.email], workspace=sales, defaults={"role": Role.ADMIN})

        for address, name, workspace, owner in (
            ("support@acme.test", "Support", support, None),
            ("sales@acme.test", "Sales", sales, None),
            ("sam@acme.test", "Sam's inbox", None, users[SAM.email]),
        ):
            inbox, _ = Inbox.objects.get_or_create(
                company=company,
                name=name,
                defaults={
                    "kind": InboxKind.INDIVIDUAL if owner else InboxKind.SHARED,
                    "workspace": workspace,
                    "owner": owner,
                },
            )
            Channel.objects.get_or_create(inbox=inbox, defaults={"address": address, "provider": Provider.LOCAL})
        self.stdout.write(self.style.SUCCESS("Demo data is in place (company Acme)."))
