"""The service behind both pages: one searcher and answerer per process, the chat, the API and the catalogue.

After staff publish or delete, the desk re-indexes and `reload` swaps in a new generation of searcher and
answerers; requests already running keep theirs.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
from collections.abc import Iterator

import gradio as gr

from ..answer import EXAMPLES, Answer, Answerer, Conversation
from ..config import Settings
from ..files import JsonLines
from ..index import PolicyIndex
from ..ingest.dates import DocumentDates
from ..retrieve import Searcher
from ..staff import (
    AuditLog,
    DocumentDesk,
    Hotline,
    OfficialAnswers,
    OfficialMatcher,
    QuestionLog,
    QueueDecisions,
    StaffAccounts,
)
from ..staff.questions import FLAGGED
from ..text import to_simplified
from .present import LEVELS, answer_message, answer_text, document_link, suggested_questions, topic_questions
from .suggest import Suggestions
from .tables import table

DOCUMENT_COLUMNS = ["标题", "发布机关", "地区", "层级", "日期", "有效期", "条款数", "来源"]
DOCUMENT_KINDS = ["col-title", "", "", "col-short", "col-short", "", "col-short", "col-short"]
# Only what every answer does: a consulting line comes with a question naming a place whose document lists one.
WELCOME_PAGE = ("<div class='welcome'><p><strong>您好！</strong>请直接输入您的问题，简体、繁体均可；"
                "回答附原文出处；文件列有咨询电话的，可一键拨打。</p>{way_in}</div>")
# The lead is the <h2> the topics' <h3> sit under (the page's <h1> is its title).
WAY_IN = "<h2 class='way-in-lead'>不知道从哪里问起？点一个常见问题试试：</h2>{topics}"


def validity(dates: DocumentDates) -> str:
    """有效 / 已到期 / 未注明, with the end when the document states one: 已到期（2020-06-30）."""
    status = dates.status()
    if dates.expires is None:
        return status
    end = dates.expires.value.removeprefix("open: ")
    return f"{status}（至{end}）"


class PolicyApp:
    """What the pages call: one searcher and answerer per process, swapped after staff change the corpus."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.lock = threading.Lock()
        self.audit = AuditLog(self.settings.audit_path)
        self.feedback_log = JsonLines(self.settings.feedback_path)
        self.accounts = StaffAccounts(self.settings.staff_accounts)
        self.officials = OfficialAnswers(self.settings.faq_file, self.audit)
        self.question_log = QuestionLog(self.settings.question_log_file, self.settings.question_log_days)
        self.question_log.purge()
        self.queue_decisions = QueueDecisions(self.settings.queue_decisions_file)
        # Re-indexing after a publish uses the model the searcher already holds: no second load (~1 s, ~0.5 GB).
        # Made before the first load, which asks it which documents are uploads (the welcome shows them first).
        self.desk = DocumentDesk(self.settings, lambda: self.searcher.encoder(), self.audit,
                                 on_change=self.reload)
        self.reload()

    def reload(self) -> None:
        """A new generation of searcher and answerers over the index on disk; requests already running keep
        theirs, and each chat session moves to the new one at its next question. The welcome's questions are asked
        before the swap (~2 s: no visitor waits for them), every other suggested question in the background after
        it (follow-ups are offered as they are checked)."""
        checking = getattr(self, "suggestions", None)
        if checking is not None:
            checking.stop()  # its verdicts are about an index about to be replaced: the new one asks first
        try:
            self._swap_in_new_generation()
        except Exception:
            if checking is not None:  # no new generation: the one still serving goes on checking its own
                checking.resume()
            raise

    def _swap_in_new_generation(self) -> None:
        previous = getattr(self, "searcher", None)
        searcher = Searcher.open(self.settings, embedder=previous.embedder if previous else None)
        llm = None
        if self.settings.llm_base_url:
            from ..answer.llm import LLMWriter

            llm = LLMWriter.from_settings(self.settings)
        extractive = Answerer(searcher, self.settings)  # the chat: extractive first, then the LLM streams
        # The API: the LLM rewrites when configured; without one it is the same answerer.
        answerer = Answerer(searcher, self.settings, llm=llm, reader=extractive.judge.reader) if llm else extractive
        extractive.ask(EXAMPLES[0])  # warm: jieba's tagger and the question encoder
        hotline = Hotline(self.officials, OfficialMatcher(searcher.encoder()), self.question_log)
        hotline.withdraw_stale(searcher.index)  # an official answer never quotes text no longer published
        suggestions = Suggestions(extractive, hotline, self.officials, first=self.desk.uploaded(searcher.index))
        suggestions.welcome()
        with self.lock:
            self.searcher, self.llm, self.answerer, self.extractive = searcher, llm, answerer, extractive
            self.hotline, self.suggestions = hotline, suggestions
        suggestions.start()

    @property
    def index(self) -> PolicyIndex:
        """The index the current searcher reads (replaced by `reload`)."""
        return self.searcher.index

    # -- 政策咨询 -------------------------------------------------------------------------------------

    def chat(self, message: str, history: list, conversation: Conversation | None, answers: list | None
             ) -> Iterator[tuple[list[dict], str, Conversation | None, list[dict]]]:
        """Streams the chat: the question, a placeholder, the answer by sentences, then the answer with its
        sources. `answers` holds each assistant message's answer (for feedback), by message position."""
        message = (message or "").strip()
        history, answers = list(history or []), list(answers or [])
        if not message:
            yield history, "", conversation, answers
            return
        # Read once: a reload must not mix two indexes.
        extractive, hotline, suggestions = self.extractive, self.hotline, self.suggestions
        if conversation is None or conversation.answerer is not extractive:
            conversation = Conversation.continuing(conversation, extractive)
        # The question is shown as typed, as text: markup in it is escaped, never rendered or run.
        shown = message if len(message) <= 2000 else message[:2000] + "…"
        history.append({"role": "user", "content": html.escape(shown)})
        yield history + [{"role": "assistant", "content": "…"}], "", conversation, answers
        official = hotline.official(message, extractive.index)
        answer = official or conversation.ask(message)
        if official is None and self.llm is not None and not answer.refused and answer.confidence != "low":
            for partial, final in self.llm.stream(answer, extractive):
                if final is None:
                    yield history + [{"role": "assistant", "content": html.escape(partial)}], "", conversation, answers
                else:
                    answer = final
        turn = sum(1 for m in history if m["role"] == "assistant") + 1
        text = answer_text(answer, turn)
        # The answer streams in; markers and links arrive whole because the cut points are sentence ends.
        for cut in [m.end() for m in re.finditer(r"[。；;\n]", text)][:-1]:
            yield history + [{"role": "assistant", "content": text[:cut]}], "", conversation, answers
        suggested = self.suggested(answer, message, suggestions)
        history.append({"role": "assistant", "content": answer_message(answer, extractive.index, turn, suggested)})
        answers.append({"position": len(history) - 1, "answer_id": secrets.token_hex(6), "question": message,
                        **answer.to_dict()})
        hotline.record(answer)
        yield history, "", conversation, answers

    @staticmethod
    def suggested(answer: Answer, question: str, suggestions: Suggestions) -> str:
        """What to offer under a reply: the topics of the welcome under a greeting, two or three checked
        questions near what an answer or a refusal quotes, nothing under an empty message."""
        if answer.decision.route == "welcome":  # in the chat, under the page's <h1>: the topics are <h2>
            return topic_questions(suggestions.welcome(), answer.in_script, level=2)
        if not answer.decision.asked:
            return ""
        found = suggestions.follow_ups(answer, to_simplified(question))
        return suggested_questions(found, "您还可以问", answer.in_script)

    def welcome_page(self) -> str:
        """The empty chat's welcome: what the page does, then common questions by topic (each checked; worked out
        once an index generation and set of published official answers)."""
        topics = topic_questions(self.suggestions.welcome(), level=3)
        return WELCOME_PAGE.format(way_in=WAY_IN.format(topics=topics) if topics else "")

    def feedback(self, rating: str, comment: str, answer: dict | None) -> str:
        """The reply shown after the rating is appended to the JSON-lines file staff review (nothing about the user
        is stored); a prompt to ask first when there is no answer."""
        if not answer:
            return "请先提一个问题。"
        self.feedback_log.add({
            "rating": rating, "comment": (comment or "").strip()[:1000], "question": answer["question"],
            "answer_id": answer.get("answer_id"),
            "answer": answer["answer"], "refused": answer["refused"],
            "citations": [c["chunk_id"] for c in answer["citations"]],
        })
        if rating == "wrong":  # back to the queue for staff to look at
            self.question_log.record(answer, FLAGGED)
        return "谢谢，反馈已记录。"

    def rate(self, answers: list | None, comment: str, event: gr.LikeData) -> tuple[str, str]:
        """有帮助/有误 on any answer of the conversation, with the comment typed so far (then cleared)."""
        position = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        answer = next((a for a in answers or [] if a["position"] == position), None)
        if answer is None or event.liked is None:  # a rating taken back, or a message that is not an answer
            return "", comment
        return self.feedback("helpful" if event.liked else "wrong", comment, answer), ""

    # -- API ------------------------------------------------------------------------------------------

    def api_ask(self, question: str) -> dict:
        """One answer in the `policy-rag ask --json` contract."""
        return self.hotline.ask(question, self.answerer).to_dict()

    def api_search(self, query: str, k: int = 5) -> dict:
        """Clauses in the `policy-rag search --json` contract."""
        hits = self.searcher.search(query, k=int(k))
        return {"id": None, "query": query, "hits": [h.to_dict() for h in hits]}

    # -- 文件目录 -------------------------------------------------------------------------------------

    def document_choices(self) -> list[tuple[str, str]]:
        """(title, doc_id) of every indexed document, sorted by doc_id: the lookup's document filter."""
        return sorted(((d.title, d.doc_id) for d in self.index.documents.values()), key=lambda c: c[1])

    def document_rows(self) -> list[list]:
        """One row per indexed document for the catalogue tables (DOCUMENT_COLUMNS), sorted by doc_id."""
        return [row for _, row in self._catalogue()]

    def document_table(self) -> str:
        """文件目录 as HTML: a table on a desktop, a card a document on a phone, each title opening its document."""
        rows = [[f"<a href='{html.escape(document_link(doc_id))}' target='_blank'>{html.escape(row[0])}</a>",
                 *(html.escape(str(v)) if v != "" else "—" for v in row[1:])] for doc_id, row in self._catalogue()]
        return table(f"已发布的政策文件（共 {len(rows)} 份，点标题查看全文）", DOCUMENT_COLUMNS, rows, DOCUMENT_KINDS)

    def _catalogue(self) -> list[tuple[str, list]]:
        counts = self.index.doc_rows
        uploaded = self.desk.uploaded(self.index)
        rows = []
        for doc in sorted(self.index.documents.values(), key=lambda d: d.doc_id):
            m = doc.metadata
            dates = self.index.dates(doc.doc_id)
            issued = m.get("date", "") or (dates.issued.value if dates.issued else "")
            rows.append((doc.doc_id, [doc.title, m.get("issuer", ""), m.get("region", ""),
                                      LEVELS.get(m.get("level", ""), ""), issued, validity(dates),
                                      len(counts.get(doc.doc_id, ())),
                                      "工作人员上传" if doc.doc_id in uploaded else "语料库"]))
        return rows
