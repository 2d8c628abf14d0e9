"""A document's dates (issued, effective, end of validity), each with the words it was read from, on real text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rag.ingest import ingest_file
from rag.ingest.dates import document_dates

SHARED = Path(__file__).resolve().parents[3] / "shared"


def dates_of(relative: str):
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{path} is not beside the project")
    document = ingest_file(path).document
    return document, document_dates(document.text, document.metadata)


def test_a_signature_date_joined_to_its_issuer_is_the_issue_date():
    document, dates = dates_of("ncp/corpus/02dca17120dc300994b10f15066046f6.txt")
    assert dates.issued.value == "2020-01-28" and dates.issued.source == "text"
    assert document.text[dates.issued.start:dates.issued.end] == dates.issued.evidence == "2020年1月28日"
    assert dates.expires is None and dates.status() == "未注明" and dates.issued_words() == "2020年1月印发"


def test_a_period_that_ended_is_expired_and_says_where_it_was_read():
    document, dates = dates_of("ncp/corpus/3d7c3d9751e633b6a253eb12bcea09c1.txt")
    assert dates.expires.value == "2020-06-30" and "2020年6月30日" in dates.expires.evidence
    assert document.text[dates.expires.start:dates.expires.end] == dates.expires.evidence
    assert dates.status(date(2026, 12, 2)) == "已到期" and dates.status(date(2020, 3, 1)) == "有效"


def test_a_law_takes_effect_on_its_stated_day_and_a_plan_target_is_no_expiry():
    _, law = dates_of("corpus-extra/law_employment_promotion_law.txt")
    assert law.effective.value == "2008-01-01" and law.effective.evidence == "自2008年1月1日起施行"


def test_texts_state_their_dates_in_the_forms_policy_uses():
    cases = {
        "本办法自印发之日起施行，有效期2年。\n江西省人民政府办公厅\n2021年3月5日":
            ("2021-03-05", "issued", "2023-03-04"),
        "本通知自2020年2月10日起执行，有效期至2020年12月31日。": (None, "2020-02-10", "2020-12-31"),
        "政策执行期限为2020年2月1日至2020年6月30日。": (None, None, "2020-06-30"),
        "上述措施执行至疫情结束。": (None, None, "open: 疫情结束"),
        "到2025年，单位GDP能耗下降13.5%。到2030年实现碳达峰。": (None, None, None),
    }
    for text, (issued, effective, expires) in cases.items():
        dates = document_dates(text, {})
        assert (dates.issued and dates.issued.value, dates.effective and dates.effective.value,
                dates.expires and dates.expires.value) == (issued, effective, expires), text
    catalogued = document_dates("正文", {"date": "2022-04-06"})
    assert catalogued.issued.value == "2022-04-06" and catalogued.issued.source == "catalogue"
