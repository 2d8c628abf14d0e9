"""The word lists tokenising and question analysis use, in one place, with a version the index records.

Every entry is general language (function words, question frames of Chinese, duty words) or policy vocabulary
the corpus uses; none is taken from a test question. VOCABULARY_VERSION hashes the lists the index depends on
(stop words and domain words: BM25 tokens depend on the jieba lexicon); an index built with another version
asks to be rebuilt. The question-side lists (question words, synonyms, greetings) are read at question time.
"""

from __future__ import annotations

import hashlib
import json

# Function words and question words: they carry no topic and would let BM25 match on "多少" alone.
STOPWORDS = frozenset(
    "的 了 和 与 及 等 在 是 对 为 将 把 被 或 也 就 都 而 并 要 其 之 以 于 由 从 向 按 该 本 各 有 个 到 "
    "吗 呢 吧 啊 呀 请问 请 多少 什么 哪些 哪个 哪里 哪 怎么 怎样 如何 是否 能不能 可以 会 "
    "我 我们 你 你们 他们 它 这 那 这个 那个 一下 知道 想 问 关于 方面 情况".split()
)

# Policy vocabulary of the corpus that jieba's general dictionary splits into characters (碳/达/峰) or
# mis-joins (比/重要).
DOMAIN_WORDS = tuple(
    "碳达峰 达峰 碳中和 双碳 非化石能源 化石能源 新能源 新能源汽车 新能源车 可再生能源 "
    "比重 占比 能耗 碳排放 碳汇 碳普惠 "
    "碳积分 碳足迹 碳市场 碳排放权 用能权 排污权 活立木 蓄积量 森林覆盖率 装机 装机容量 抽水蓄能 充电桩 充换电 "
    "加氢站 光伏 风电 氢能 储能 绿电 绿氢 绿色建筑 装配式建筑 超低能耗 近零碳 零碳 低碳 绿色出行 公共交通 "
    "多式联运 公转铁 两高 高耗能 高排放 清洁生产 循环经济 生活垃圾 建筑垃圾 资源化利用 秸秆 化肥 高标准农田 "
    "节能 节能审查 能效 数据中心 虚拟电厂 新型电力系统 绿道 湿地 国土绿化 生态修复 绿色金融 绿色信贷 碳金融 "
    "牵头 配合 咨询电话 联系人 十四五 十五五 十大行动 单位地区生产总值 二氧化碳 温室气体".split()
)

# The frame of an everyday question, not its topic: what a question asks is in the rest of its words.
QUESTION_WORDS = frozenset(
    "要 能 有 没有 吗 呢 啥 怎么办 怎么样 打算 准备 计划 规定 要求 方案 实施 工作 提出 政策 文件 里 说 举措 措施 做法 "
    "安排 内容 主要 讲 意思 管 搞 不要 要不要 时候 啥时候 什么 目标 多少 多大 多长 达到 提高 提升 下降 分别 各 "
    "部门 机构 单位 牵头 负责 配合 谁 来 统筹 电话 咨询 联系人 找 问题 叫 指 解读 里面 哪些 哪个 一下 不能 超过 "
    "不低于 不少于 以上 以下 左右 大概 预计 提到 提高到 降低到 要到 增加到 "
    "为啥 怎样 如何 看法 确保 将来 现在 处理 办 干 做 能不能 可不可以 是不是 "
    "有何 几方面 方面 意义 作用 影响 办法 具体 都 还 会 应该 需要 百姓 市民 我们 "
    "哪年 哪天 哪一天 几年 多久 年份 时间 日期".split()
)

# Same meaning, other words: a question's term counts as found when one of these is.
SYNONYMS = {
    "能耗": ("能源消费", "能源消耗"), "新能源车": ("新能源汽车",),
    "房子": ("建筑", "住宅"), "盖房": ("建筑",), "充电桩": ("充电设施", "充电站"), "两高": ("高耗能高排放",),
    "垃圾": ("生活垃圾",), "电话": ("咨询电话",), "占比": ("比重", "比例"), "比重": ("占比",), "比例": ("占比", "比重"),
}

# Greetings and thanks: a message made only of these (and punctuation, emoji) asks nothing.
GREETINGS = ("你好", "您好", "在吗", "在不在", "谢谢", "多谢", "感谢", "早上好", "下午好", "晚上好", "哈喽", "嗨",
             "hello", "hi", "喂", "再见", "拜拜", "好的", "嗯", "哦", "ok", "辛苦", "打扰", "谢")


def _version() -> str:
    # Only the lists that shape what the index stores (jieba's words, BM25's tokens): a new greeting or synonym
    # is read at question time and must not make every built index unusable.
    lists = [sorted(STOPWORDS), list(DOMAIN_WORDS)]
    return hashlib.sha256(json.dumps(lists, ensure_ascii=False).encode()).hexdigest()[:12]


VOCABULARY_VERSION = _version()
