"""Words the pages look up from data rather than write out (a post's status, a role,
a figure's name, a file format): marked here for the catalogues, shown with
``_(value)``. ``tests/test_i18n.py`` checks each is a value the code has."""

from __future__ import annotations

from visibility.i18n import N_

STATUSES = (
    N_("draft"),
    N_("approved"),
    N_("scheduled"),
    N_("publishing"),
    N_("published"),
    N_("in_doubt"),
    N_("failed"),
    N_("cancelled"),
)
ROLES = (N_("editor"), N_("approver"), N_("admin"))
FIGURES = (
    N_("impressions"),
    N_("reactions"),
    N_("comments"),
    N_("shares"),
    N_("clicks"),
    N_("engagement"),
)
UNITS = (N_("weighted characters"), N_("characters"))
FORMATS = (N_("text"), N_("markdown"), N_("html"), N_("auto"))
WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)
