"""The reports' periods (reports/periods.py) and Excel writer (reports/excel.py): what every report
reads from its query string and writes to its file."""

from datetime import date, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from openpyxl import load_workbook

from config.errors import DomainError
from reports import periods
from reports.excel import Column, Sheet, workbook_response

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_month_is_its_local_days():
    p = periods.month_param("2026-02")
    assert (p.first_day, p.last_day, p.key) == (date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    assert p.start == datetime(2026, 2, 1, tzinfo=SHANGHAI) and p.end == datetime(2026, 3, 1, tzinfo=SHANGHAI)
    assert p.previous().key == "2026-01" and periods.month_param("2026-01").previous().key == "2025-12"
    assert p.same_last_year().key == "2025-02"


def test_missing_periods_default_to_the_one_just_ended():
    today = date(2026, 12, 3)  # a Thursday of ISO week 49
    assert periods.month_param(None, default_today=today).key == "2026-11"
    assert periods.month_param("", default_today=date(2026, 1, 15)).key == "2025-12"
    assert periods.week_param(None, default_today=today).key == "2026-W48"
    assert periods.year_param(None, default_today=today).key == "2026"


def test_an_iso_week_runs_monday_to_sunday_across_the_new_year():
    p = periods.week_param("2026-W01")
    assert (p.first_day, p.last_day) == (date(2025, 12, 29), date(2026, 1, 4))
    assert p.previous().key == "2025-W52"
    assert periods.week_param("2026-W53").same_last_year().key == "2025-W52"  # 2025 has 52 weeks


@pytest.mark.parametrize(("reader", "value", "code"), [
    (periods.month_param, "2026-13", "month"), (periods.month_param, "2026-1", "month"),
    (periods.month_param, "２０２６-05", "month"), (periods.month_param, "1999-05", "month"),
    (periods.week_param, "2025-W53", "week"), (periods.week_param, "2026-W00", "week"),
    (periods.week_param, "2026W10", "week"), (periods.year_param, "26", "year"),
    (periods.year_param, "3000", "year"),
])
def test_a_malformed_period_is_refused_with_its_format(reader, value, code):
    with translation.override("en"), pytest.raises(DomainError) as refused:
        reader(value)
    assert refused.value.code == code and "for example" in str(refused.value.message)


def test_the_excel_file_keeps_numbers_rates_and_local_times():
    at = datetime(2026, 11, 30, 16, 30, tzinfo=ZoneInfo("UTC"))
    sheet = Sheet("到场率", "2026-11 网格长排名", [Column("姓名"), Column("派单数", "int"), Column("到场率", "rate"),
                                                 Column("派单时间", "datetime")],
                  [["张三", 12, 0.75, at], ["<b>李四</b>", 0, None, None]])
    response = workbook_response("排名 2026-11.xlsx", [sheet])
    assert "filename*=UTF-8''%E6%8E%92%E5%90%8D%202026-11.xlsx" in response["Content-Disposition"]
    ws = load_workbook(BytesIO(response.content))["到场率"]
    assert ws["A1"].value == "2026-11 网格长排名"
    assert [c.value for c in ws[2]] == ["姓名", "派单数", "到场率", "派单时间"]
    assert [ws["A3"].value, ws["B3"].value, ws["C3"].value] == ["张三", 12, 0.75]
    assert ws["C3"].number_format == "0.0%"
    assert ws["D3"].value == datetime(2026, 12, 1, 0, 30)  # noqa: DTZ001 - Shanghai time, as the page shows it (Excel has no zones)
    assert ws["A4"].value == "<b>李四</b>" and ws["C4"].value is None
    assert ws.freeze_panes == "A3"
