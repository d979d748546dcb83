"""Staff tools. Credentials are never shown: the encrypted blob is excluded from every form and list."""

from collections.abc import Callable
from typing import cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from channels_app import tasks
from channels_app.display import visible_controls
from channels_app.models import (
    Channel,
    ChannelEvent,
    Company,
    CompanyMembership,
    Inbox,
    MailFolder,
    Message,
    Notification,
    NotificationKind,
    OrganisationConnection,
    OrganisationDomain,
    ReauthorizationLink,
    SupportRequest,
    User,
    Workspace,
    WorkspaceMembership,
)
from channels_app.services.health import channel_mark_for_reauthorization
from channels_app.services.reauth_links import link_withdraw
from channels_app.services.support import support_request_text
from channels_app.views.health import chosen_rows, csv_response, health_context

SECRET_FIELDS = ("credentials_ciphertext",)


@admin.register(User)
class AppUserAdmin(UserAdmin):
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)


class CompanyMembershipInline(admin.TabularInline):
    model = CompanyMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = [CompanyMembershipInline]


class WorkspaceMembershipInline(admin.TabularInline):
    model = WorkspaceMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "company")
    list_filter = ("company",)
    search_fields = ("name",)
    inlines = [WorkspaceMembershipInline]


@admin.register(CompanyMembership)
class CompanyMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "company", "role")
    list_filter = ("role", "company")
    search_fields = ("user__email",)


@admin.register(WorkspaceMembership)
class WorkspaceMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role")
    list_filter = ("role", "workspace__company")
    search_fields = ("user__email", "workspace__name")


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "company", "workspace", "owner")
    list_filter = ("kind", "company")
    search_fields = ("name",)


class UnrecognisedAnswerFilter(admin.SimpleListFilter):
    """Channels whose provider gave an answer the app does not know (staff are alerted; teach the module)."""

    title = "provider answer"
    parameter_name = "answer"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("unrecognised", "Unrecognised answer pending")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Channel]) -> QuerySet[Channel]:
        if self.value() == "unrecognised":
            return queryset.filter(
                notifications__kind=NotificationKind.UNRECOGNISED, notifications__resolved_at__isnull=True
            ).distinct()
        return queryset


class MailFolderInline(admin.TabularInline):
    """The folders read and each one's cursor, for staff looking into what was (not) imported."""

    model = MailFolder
    extra = 0
    can_delete = False
    fields = ("name", "special_use", "uidvalidity", "last_uid")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ChannelEventInline(admin.TabularInline):
    model = ChannelEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "reason", "provider_code", "actor", "cause")
    readonly_fields = fields
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = (
        "address",
        "delegate_address",
        "provider",
        "status",
        "status_reason",
        "last_error_code",
        "status_since",
        "last_synced_at",
        "company",
    )
    list_filter = ("status", "reason_code", "provider", UnrecognisedAnswerFilter, "inbox__company")
    search_fields = ("address", "delegate_address", "inbox__name", "last_error_code")
    list_select_related = ("inbox", "inbox__company")
    exclude = SECRET_FIELDS + ("lease_owner",)
    readonly_fields = (
        # Whose sign-in the stored credentials are: it changes only with them (Reauthorize).
        "delegate_address",
        "status",
        "status_reason",
        "reason_code",
        "status_since",
        "last_synced_at",
        "last_checked_at",
        "last_error",
        "last_error_code",
        "configuration_error",
        "failing_since",
        "next_attempt_at",
        "token_expires_at",
        "token_refreshed_at",
        "subscription_renewed_at",
        "lease_until",
        "import_since",
        "download_day",
        "downloaded_bytes",
    )
    inlines = [MailFolderInline, ChannelEventInline]
    actions = ["probe_now", "sync_now", "mark_for_reauthorization"]
    # Adds a link to the Channel health view below.
    change_list_template = "admin/channels_app/channel/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        # Before the model's own: "health/" would otherwise read as an object id.
        view = self.admin_site.admin_view
        return [
            path("health/", view(self.health_view), name="channels_app_channel_health"),
            path("health.csv", view(self.health_csv), name="channels_app_channel_health_csv"),
            *super().get_urls(),
        ]

    def _require_view(self, request: HttpRequest) -> None:
        # admin_view lets in any active staff member; the channel list's own permission decides.
        if not self.has_view_permission(request):
            raise PermissionDenied

    def health_view(self, request: HttpRequest) -> HttpResponse:
        """Every company's channels as company admins see theirs on their Channel health page."""
        self._require_view(request)
        context = health_context(
            request, Channel.objects.all(), csv_url=reverse("admin:channels_app_channel_health_csv")
        )
        context.update(self.admin_site.each_context(request), title="Channel health", show_company=True)
        return TemplateResponse(request, "admin/channels_app/channel/health.html", context)

    def health_csv(self, request: HttpRequest) -> HttpResponse:
        self._require_view(request)
        _chosen, _sort, rows = chosen_rows(request, Channel.objects.all())
        return csv_response(rows, name="channel-health-all")

    @admin.display(ordering="inbox__company__name")
    def company(self, obj: Channel) -> str:
        return obj.inbox.company.name

    def _run(self, request: HttpRequest, queryset: QuerySet[Channel], run_one: Callable[..., str]) -> None:
        # Staff asked for it now: backoff does not postpone it; each line says what happened.
        ids = queryset.values_list("pk", flat=True)
        for _, line in tasks.check_each(lambda pk: run_one(pk, respect_backoff=False), ids):
            self.message_user(request, line)

    @admin.action(description="Probe now")
    def probe_now(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        self._run(request, queryset, tasks.probe_channel)

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        self._run(request, queryset, tasks.sync_channel)

    @admin.action(description="Mark for reauthorization (alerts the people who can fix it)")
    def mark_for_reauthorization(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        for channel in queryset.select_related("inbox"):
            channel_mark_for_reauthorization(channel=channel, actor=cast(User, request.user))
        self.message_user(
            request,
            f"{queryset.count()} channel(s) marked for reauthorization. The people who can reauthorize them were "
            "told that our support asked for it.",
        )


class OrganisationDomainInline(admin.TabularInline):
    model = OrganisationDomain
    extra = 0
    readonly_fields = ("domain", "verified_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OrganisationConnection)
class OrganisationConnectionAdmin(admin.ModelAdmin):
    """Read-only for staff: the company admin sets it up (views/organisation.py); the key material is never
    shown, its fingerprints and dates are."""

    list_display = ("company", "provider", "status", "last_worked_at", "grant_missing", "last_error_code")
    list_filter = ("provider", "status")
    search_fields = ("company__name", "client_email", "client_id", "tenant_id")
    exclude = ("secret_ciphertext", "previous_secret_ciphertext")
    readonly_fields = (
        "company",
        "provider",
        "client_email",
        "client_id",
        "tenant_id",
        "service_principal_id",
        "secret_fingerprint",
        "secret_added_at",
        "previous_secret_fingerprint",
        "previous_secret_added_at",
        "status",
        "status_since",
        "last_worked_at",
        "last_tested_at",
        "test_mailbox",
        "last_error",
        "last_error_code",
        "grant_missing",
    )
    inlines = [OrganisationDomainInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ReauthorizationLink)
class ReauthorizationLinkAdmin(admin.ModelAdmin):
    """Links people sent (services/reauth_links.py). Never made or changed here: the link itself is only
    in the email; staff can withdraw one that went to the wrong person."""

    list_display = ("created_at", "channel", "sent_to", "sent_by", "state_now", "expires_at", "used_at")
    list_filter = ("channel__provider",)
    search_fields = ("channel__address", "sent_to", "sent_by__email")
    list_select_related = ("channel", "sent_by")
    exclude = ("nonce_digest",)
    actions = ["withdraw"]

    @admin.display(description="state")
    def state_now(self, obj: ReauthorizationLink) -> str:
        return obj.state().label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReauthorizationLink | None = None) -> bool:
        return False

    @admin.action(description="Withdraw (the link stops working)")
    def withdraw(self, request: HttpRequest, queryset: QuerySet[ReauthorizationLink]) -> None:
        withdrawn = sum(link_withdraw(link=link, actor=cast(User, request.user)) for link in queryset)
        self.message_user(request, f"{withdrawn} link(s) withdrawn; the others were already used or withdrawn.")


@admin.register(ChannelEvent)
class ChannelEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "from_status", "to_status", "reason", "provider_code", "actor", "cause")
    list_filter = ("to_status", "channel__provider")
    search_fields = ("channel__address", "reason", "provider_code")
    list_select_related = ("channel", "actor")


def _visible(field: str, description: str) -> Callable[[admin.ModelAdmin, Message], str]:
    @admin.display(description=description, ordering=field)
    def show(model_admin: admin.ModelAdmin, message: Message) -> str:
        return visible_controls(getattr(message, field))

    return show


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Imported messages are what the server sent: shown, never edited, control characters made visible."""

    list_display = ("shown_subject", "shown_from", "internal_date", "date", "channel", "folder", "uid")
    list_filter = ("channel__provider",)
    search_fields = ("subject", "from_address", "message_id", "channel__address")
    list_select_related = ("channel", "folder")
    fields = (
        "channel",
        "folder",
        "uidvalidity",
        "uid",
        "identity",
        "internal_date",
        "shown_message_id",
        "shown_from",
        "shown_to",
        "shown_subject",
        "date",
        "size",
        "digest",
        "parse_problems",
        "imported_at",
    )
    readonly_fields = fields
    shown_message_id = _visible("message_id", "Message-ID")
    shown_from = _visible("from_address", "from")
    shown_to = _visible("to_addresses", "to and cc")
    shown_subject = _visible("subject", "subject")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "requester", "handled")
    list_filter = ("handled", "channel__provider")
    search_fields = ("channel__address", "requester__email", "message")
    list_select_related = ("channel", "requester")
    # The person's words only as support_request_text quotes them, never as fields of their own
    # beside our diagnostics, where a forged "Diagnostics" block could pass for ours.
    fields = ("channel", "requester", "created_at", "handled", "as_sent")
    readonly_fields = ("channel", "requester", "created_at", "as_sent")
    list_editable = ("handled",)

    @admin.display(description="As sent to support")
    def as_sent(self, obj: SupportRequest) -> str:
        return format_html('<pre class="support-request">{}</pre>', support_request_text(obj))


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "channel", "kind", "read_at", "resolved_at", "email_state")
    # "Not sent yet" and "gave up" are the emails the mail server did not take.
    list_filter = ("email_state", "kind")
    search_fields = ("recipient__email", "channel__address")
    list_select_related = ("recipient", "channel")
    readonly_fields = (
        "email_subject",
        "email_body",
        "email_state",
        "email_attempts",
        "email_next_attempt_at",
        "email_sent_at",
        "email_last_error",
    )
