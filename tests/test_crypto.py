import pytest
from django.core.management import call_command

from channels_app import crypto
from channels_app.models import Channel, CompanySignIn
from channels_app.providers import Credentials
from channels_app.services.company_sign_in import company_sign_in_save, company_sign_in_secret
from channels_app.services.credentials import channel_credentials, channel_store_credentials


@pytest.fixture
def keys(settings):
    def use(*values: str) -> None:
        settings.CREDENTIALS_KEYS = list(values)
        crypto.reset_keys()

    yield use
    crypto.reset_keys()


def test_round_trip_and_ciphertext_hides_the_secret(keys):
    keys(crypto.generate_key())
    ciphertext = crypto.encrypt_json({"password": "hunter2-secret"})
    assert "hunter2" not in ciphertext
    assert crypto.decrypt_json(ciphertext) == {"password": "hunter2-secret"}


def test_rotation_moves_ciphertext_to_the_new_key(keys, tenancy):
    old, new = crypto.generate_key(), crypto.generate_key()
    keys(old)
    channel_store_credentials(channel=tenancy.shared_channel, credentials=Credentials(password="pw-1"))
    keys(new, old)
    call_command("rotate_credentials")
    keys(new)  # the old key is dropped: everything must still decrypt
    channel = Channel.objects.get(pk=tenancy.shared_channel.pk)
    assert channel_credentials(channel).password == "pw-1"


def test_unknown_key_is_reported_without_the_ciphertext(keys):
    keys(crypto.generate_key())
    ciphertext = crypto.encrypt_json({"password": "x"})
    keys(crypto.generate_key())
    with pytest.raises(crypto.CredentialsUnreadable) as error:
        crypto.decrypt_json(ciphertext)
    assert ciphertext not in str(error.value)


def test_credentials_repr_never_shows_secrets():
    text = repr(Credentials(access_token="AT-secret", refresh_token="RT-secret", password="PW-secret"))
    assert "secret" not in text


def test_rotation_moves_company_sign_in_secrets_to_the_new_key(keys, tenancy):
    old, new = crypto.generate_key(), crypto.generate_key()
    keys(old)
    sign_in = company_sign_in_save(
        company=tenancy.company, issuer_url="https://idp.example", client_id="c", client_secret="s-1", domains=[]
    )
    keys(new, old)
    call_command("rotate_credentials")
    keys(new)
    assert company_sign_in_secret(CompanySignIn.objects.get(pk=sign_in.pk)) == "s-1"
