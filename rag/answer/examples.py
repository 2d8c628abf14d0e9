"""The example questions the product shows, in one place: the app's examples, the welcome and the prompt for
an empty question. They ask about the seed documents in corpus/ and are taken from the dev set
(eval/dev_questions.jsonl), never from a test set."""

EXAMPLES = (
    "成都到2025年新能源车要达到多少辆？",
    "瑞金推动建材行业碳达峰是哪个部门牵头？",
    "瑞金和成都2025年非化石能源消费比重目标各是多少？",
    "成都到2025年新能源車要達到多少輛？",
)
