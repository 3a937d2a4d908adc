"""Staff change a mall's distribution settings: every value checked alone and against the
others, nothing saved unless all of it is right."""

from __future__ import annotations

import pytest

from storefront.distribution.errors import DistributionInvalid
from storefront.distribution.models import DistributionSettings
from storefront.distribution.program_settings import settings_as_dict, settings_update

pytestmark = pytest.mark.django_db


def test_a_good_change_is_saved(rules):
    saved = settings_update(data={"binding_mode": "last_touch", "commission_hold_days": 10,
                                  "withdrawal_fee_bp": 100, "enabled": True})
    assert (saved.binding_mode, saved.commission_hold_days, saved.withdrawal_fee_bp) == (
        "last_touch", 10, 100)
    assert DistributionSettings.current().commission_hold_days == 10


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"colour": "red"}, "colour", "Unknown setting"),
    ({"enabled": "yes"}, "enabled", "true or false"),
    ({"join_mode": "paid"}, "join_mode", "Choose one of"),
    ({"binding_days": 0}, "binding_days", "1 to 3650"),
    ({"binding_days": 3.5}, "binding_days", "whole number"),
    ({"commission_cap_bp": 10_001}, "commission_cap_bp", "0 to 10000"),
    ({"withdrawal_daily_count": True}, "withdrawal_daily_count", "whole number"),
    ({"join_mode": "apply", "enroll_buyers": True}, "enroll_buyers", "art. 7"),
    ({"binding_mode": "first_touch_days", "binding_days": 10, "protection_days": 20},
     "protection_days", "outlast"),
    ({"withdrawal_min_fen": 100, "withdrawal_fee_min_fen": 100}, "withdrawal_fee_min_fen",
     "below the smallest"),
    ({"withdrawal_min_fen": 5000, "withdrawal_daily_fen": 1000}, "withdrawal_daily_fen",
     "at least the smallest"),
])
def test_bad_settings_are_refused_naming_the_field_and_nothing_changes(rules, data, field,
                                                                       words):
    before = settings_as_dict(DistributionSettings.current())
    with pytest.raises(DistributionInvalid) as refused:
        settings_update(data=data)
    assert words in " ".join(refused.value.fields[field])
    assert settings_as_dict(DistributionSettings.current()) == before


def test_the_cap_cannot_drop_under_the_active_plan(plan):
    with pytest.raises(DistributionInvalid) as refused:
        settings_update(data={"commission_cap_bp": 1000})  # the plan pays up to 15%
    assert "commission cap of 10%" in refused.value.fields["commission_cap_bp"][0]
    assert DistributionSettings.current().commission_cap_bp == 3000
