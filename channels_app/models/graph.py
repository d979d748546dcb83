"""A Microsoft channel's Graph subscription for new mail (channels_app/services/graph_push.py)."""

from django.db import models

from channels_app.models.channels import Channel


class GraphSubscription(models.Model):
    """Our standing with Microsoft Graph for one channel: which subscription, until when, and its secret.

    The clientState secret is kept only as a SHA-256 digest: Graph sends it back in every notification
    and we compare digests; it is never needed again (a renewal does not send it). The Graph access token
    (another audience than the IMAP one) is kept encrypted, apart from the channel's credentials.
    """

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="graph_subscription")
    subscription_id = models.CharField(max_length=200, blank=True, db_index=True)
    client_state_digest = models.CharField(max_length=64, blank=True)
    resource = models.CharField(max_length=300, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    # The last change notification (a lifecycle event says nothing about new mail, so it does not count).
    last_notification_at = models.DateTimeField(null=True, blank=True)
    # Set when polls found Inbox mail no notification had announced for a long time, and staff were told;
    # the next change notification clears it (services/push_silence.py).
    silent_reported_at = models.DateTimeField(null=True, blank=True)
    # Since when the channel's grant lacks consent for Graph (made before we asked for it): it is polled
    # until a reauthorization asks again.
    needs_consent_since = models.DateTimeField(null=True, blank=True)
    # {"access_token", "expires_at"} of the Graph token, encrypted like the channel's credentials.
    token_ciphertext = models.TextField(blank=True, default="", editable=False)

    def __str__(self) -> str:
        return f"{self.channel}: {self.subscription_id or 'no subscription'}"
