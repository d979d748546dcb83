from channels_app.models import AlertCategory, AlertEmailOptOut
from channels_app.selectors import alert_email_opt_outs
from channels_app.services.preferences import alert_email_preferences_save


def test_the_categories_left_unticked_are_turned_off_and_ticking_one_turns_it_back_on(tenancy):
    alert_email_preferences_save(user=tenancy.admin, emailed={AlertCategory.SIGN_IN, AlertCategory.LINKS})
    assert alert_email_opt_outs(tenancy.admin) == {AlertCategory.STOPPED, AlertCategory.BACK}
    alert_email_preferences_save(user=tenancy.admin, emailed={AlertCategory.SIGN_IN, AlertCategory.BACK})
    assert alert_email_opt_outs(tenancy.admin) == {AlertCategory.STOPPED, AlertCategory.LINKS}
    assert alert_email_opt_outs(tenancy.member) == set()  # nobody else's


def test_saving_the_same_choice_twice_keeps_one_row_per_category(tenancy):
    for _ in range(2):
        alert_email_preferences_save(user=tenancy.admin, emailed=set())
    assert AlertEmailOptOut.objects.filter(user=tenancy.admin).count() == 4


def test_someone_not_on_staff_leaves_staff_alerts_as_they_were(tenancy, make_user):
    alert_email_preferences_save(user=tenancy.admin, emailed=set())
    assert AlertCategory.STAFF not in alert_email_opt_outs(tenancy.admin)
    staff = make_user(is_staff=True)
    alert_email_preferences_save(user=staff, emailed=set())
    assert AlertCategory.STAFF in alert_email_opt_outs(staff)
