"""Who belongs where: companies, their workspaces, people and their roles, inboxes."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """Our own user model from day one, so adding fields later needs no data migration.

    People sign in with their email address; `username` is kept only because
    Django admin and createsuperuser expect it.
    """

    email = models.EmailField("email address", unique=True)
    # An IANA name ("Europe/Paris") that every time shows in (channels_app/time_zones.py). Empty until the
    # browser tells it at first sign-in or the person chooses one: times show in the site's TIME_ZONE meanwhile.
    time_zone = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Company(models.Model):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompanyMembership(models.Model):
    # A person belongs to one company: the settings sidebar shows "Company
    # settings" for exactly that company.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="company_membership")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    def __str__(self) -> str:
        return f"{self.user} — {self.company} ({self.role})"


class Workspace(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="workspace_name_unique_in_company")]

    def __str__(self) -> str:
        return self.name


class WorkspaceMembership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspace_memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_workspace")]

    def __str__(self) -> str:
        return f"{self.user} — {self.workspace} ({self.role})"


class InboxKind(models.TextChoices):
    SHARED = "shared", "Shared"
    INDIVIDUAL = "individual", "Individual"


class Inbox(models.Model):
    """A shared inbox belongs to a workspace; an individual inbox to one person."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="inboxes")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=InboxKind.choices)
    workspace = models.ForeignKey(Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="inboxes")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="individual_inboxes"
    )

    class Meta:
        verbose_name_plural = "inboxes"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="shared", workspace__isnull=False, owner__isnull=True))
                | (Q(kind="individual", owner__isnull=False, workspace__isnull=True)),
                name="inbox_shared_has_workspace_individual_has_owner",
            )
        ]

    def __str__(self) -> str:
        return self.name
