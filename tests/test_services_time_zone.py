from channels_app.models import User
from channels_app.services.time_zone import user_set_time_zone, user_take_browser_time_zone


def test_a_persons_choice_replaces_their_zone(make_user):
    user = make_user(time_zone="Europe/Paris")
    user_set_time_zone(user=user, zone="Asia/Tokyo")
    assert User.objects.get(pk=user.pk).time_zone == "Asia/Tokyo" == user.time_zone


def test_the_browsers_zone_is_kept_only_while_the_person_has_none(make_user):
    user = make_user()
    assert user_take_browser_time_zone(user=user, zone="America/Los_Angeles")
    # A second report (another tab, another browser) changes nothing: the first one, or a choice, wins.
    assert not user_take_browser_time_zone(user=User.objects.get(pk=user.pk), zone="Asia/Tokyo")
    assert User.objects.get(pk=user.pk).time_zone == "America/Los_Angeles"
