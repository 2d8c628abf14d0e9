"""What kind of answer a question asks for, and whether a sentence holds an expression of that kind.

Derived from general Chinese: the question words and measure words that ask for a detail (多少钱, 几个月, 比例,
哪个部门, 电话…) and the units and shapes that state one (…元, …%, …个月, 2020年3月1日, 0791-…). A near miss
is a topical sentence that lacks the asked detail; the reader's combiner reads these as features.
"""

from __future__ import annotations

import re

NUMBER = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千万半]+)"
ASKS = {
    "money": re.compile(r"多少钱|几元|多少万|金额|(?:补贴|补助|奖励|资助|减免|返还|贴息|费用|标准|工资|额度|"
                        r"贷款|报销|给|发|退|补|奖|赔)[^，。？?]{0,6}(?:多少|几|多高|多大)|(?:多少|几)[^，。？?]{0,4}(?:钱|补贴|补助|奖励)|"
                        # a charge asked about, as the dev sets ask it: 如何收费, 收费标准, 费用怎么算, 费率按多少
                        r"收费|费[^，。？?]{0,2}(?:怎么|如何)(?:收|算|交|缴)|费[^，。？?]{0,2}多少"),
    "rate": re.compile(r"比例|百分之|几成|费率|利率|税率|多少个?点|折扣|(?:打|按)几折|减半吗|减多少"),
    "count": re.compile(r"(?:多少|几)(?:个|家|人|名|座|辆|台|户|所|项|套|处|条|批|次|张|件|种|类|位)"),
    "period": re.compile(r"多久|多长时间|多长|(?:几|多少)(?:天|日|周|个?月|年|小时|个工作日)|期限|有效期|延长到|延期到|"
                         r"截止|到什么时候|到何时|到哪天|持续|多少时间"),
    "date": re.compile(r"什么时候|何时|哪天|哪一天|几月|几号|日期|哪年|起止|开始时间"),
    "department": re.compile(r"哪个部门|什么部门|哪个单位|哪些部门|哪家|谁负责|谁管|归谁|找谁|谁来|由谁|哪个机构|"
                             r"负责部门|主管部门"),
    "phone": re.compile(r"电话|热线|号码|联系方式|怎么联系|打给"),
    "place": re.compile(r"在哪|哪里|哪儿|地址|地点|去哪"),
}
HOLDS = {
    "money": re.compile(NUMBER + r"\s*(?:万|亿|千)?元|万元|元/|费用全免|免收|全额"),
    "rate": re.compile(NUMBER + r"\s*(?:%|％|‰|个百分点|成|倍|折)|百分之|减半|全额|全免"),
    "count": re.compile(NUMBER + r"\s*(?:个|家|人|名|座|辆|台|户|所|项|套|处|条|批|次|张|件|种|类|位|万)"),
    "period": re.compile(NUMBER + r"\s*(?:个)?(?:天|日|周|月|年|小时|个工作日|工作日)|\d{1,2}月\d{1,2}日|期限|"
                         r"至\d{4}年|年底|月底|之前|以前|期间"),
    "date": re.compile(r"\d{4}年|\d{1,2}月\d{1,2}日|\d{1,2}月底|年底|起施行|之日起"),
    "department": re.compile(r"局|厅|委员会|委|办公室|中心|部门|政府|银行|公司|协会|负责|牵头|办理"),
    "phone": re.compile(r"\d{3,4}[-－—]\d{7,8}|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)12\d{3}(?!\d)|\d{7,8}"),
    "place": re.compile(r"地址|路|街|号|大厅|窗口|网站|网上|平台|APP|小程序|公众号|服务中心|所在地"),
}
KINDS = tuple(ASKS)


def asked_kinds(question: str) -> frozenset[str]:
    """The kinds of detail the question asks for (empty for an open question)."""
    return frozenset(k for k, pattern in ASKS.items() if pattern.search(question))


def held_kinds(text: str) -> frozenset[str]:
    """The kinds of detail the text states."""
    return frozenset(k for k, pattern in HOLDS.items() if pattern.search(text))


def kind_features(asked: frozenset[str], held: frozenset[str]) -> tuple[float, float]:
    """(asks a typed detail, holds none of what it asks): the combiner's near-miss signal."""
    return float(bool(asked)), float(bool(asked) and not (asked & held))
