from channels_app.models import ChannelStatus
from channels_app.selectors.channel_lists import (
    ATTENTION_NAMED,
    channel_list,
    company_channels,
    personal_channels,
    workspace_channels,
)


def test_each_space_lists_its_own_channels(tenancy):
    assert list(company_channels(tenancy.company)) == [tenancy.shared_channel]
    assert list(workspace_channels(tenancy.workspace)) == [tenancy.shared_channel]
    assert list(personal_channels(tenancy.member)) == [tenancy.member_channel]
    # Nothing of Acme's reaches another company's admin, nor someone's personal channels another person.
    assert not personal_channels(tenancy.admin).exists()
    assert not personal_channels(tenancy.outsider).exists()


def test_the_banners_name_the_first_few_by_address_and_say_when_there_are_more(tenancy, make_inbox, make_channel):
    for n in range(ATTENTION_NAMED + 1):
        make_channel(
            inbox=make_inbox(workspace=tenancy.workspace),
            address=f"broken{n:02}@acme.test",
            status=ChannelStatus.NEEDS_REAUTH,
        )
    make_channel(
        inbox=make_inbox(workspace=tenancy.workspace), address="gone@acme.test", status=ChannelStatus.DISCONNECTED
    )
    listed = channel_list(company_channels(tenancy.company), None)
    assert [c.address for c in listed.attention] == [f"broken{n:02}@acme.test" for n in range(ATTENTION_NAMED)]
    assert listed.attention_more
    assert [c.address for c in listed.disconnected] == ["gone@acme.test"] and not listed.disconnected_more
    assert listed.page.paginator.count == ATTENTION_NAMED + 3


def test_an_unknown_page_number_gives_a_page_rather_than_an_error(tenancy):
    listed = channel_list(company_channels(tenancy.company), "not a number")
    assert list(listed.page.object_list) == [tenancy.shared_channel]
    assert listed.attention == [] and not listed.attention_more
