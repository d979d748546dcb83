"""Staff tools. Credentials are never shown: the encrypted blob is excluded from every form and list."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from channels_app.models import (
    Channel,
    ChannelEvent,
    Company,
    CompanyMembership,
    Inbox,
    Message,
    Notification,
    User,
    Workspace,
    WorkspaceMembership,
)

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


class ChannelEventInline(admin.TabularInline):
    model = ChannelEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "reason", "actor", "cause")
    readonly_fields = fields
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("address", "provider", "status", "status_reason", "status_since", "last_synced_at", "company")
    list_filter = ("status", "provider", "inbox__company")
    search_fields = ("address", "inbox__name")
    list_select_related = ("inbox", "inbox__company")
    exclude = SECRET_FIELDS
    readonly_fields = ("status", "status_reason", "status_since", "last_synced_at", "uidvalidity", "last_uid")
    inlines = [ChannelEventInline]

    @admin.display(ordering="inbox__company__name")
    def company(self, obj: Channel) -> str:
        return obj.inbox.company.name


@admin.register(ChannelEvent)
class ChannelEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "from_status", "to_status", "reason", "actor", "cause")
    list_filter = ("to_status", "channel__provider")
    search_fields = ("channel__address", "reason")
    list_select_related = ("channel", "actor")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "from_address", "date", "channel", "uid")
    list_filter = ("channel__provider",)
    search_fields = ("subject", "from_address", "message_id", "channel__address")
    list_select_related = ("channel",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "channel", "kind", "read_at", "resolved_at")
    list_filter = ("kind",)
    search_fields = ("recipient__email", "channel__address")
    list_select_related = ("recipient", "channel")
