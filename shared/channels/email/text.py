"""An email body as text: HTML to text, the new part of a reply, and bounded sizes.

The new part is found by `mail-parser-reply` (maintained, multi-language) rather
than our own regexes. Its patterns are superlinear on hostile input, so it only
ever sees a bounded, normalized probe of the text (see `_reply_probe`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

from shared.channels.email.limits import EmailLimits

TRUNCATION_MARK = "\n[… truncated]"
# Languages whose "On … wrote:" / "From: … Sent:" headers the reply parser looks for.
# Each one adds patterns to every scan; these cover our customers' mail clients.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "ja")
# A line this long is prose, never a reply header: it is hidden from the parser.
_MAX_PROBE_LINE = 300
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_RUN = re.compile(r"\n{3,}")

# Tags that end a paragraph (a blank line) and tags that only end a line (Gmail writes a <div> per line).
_PARAGRAPH_TAGS = frozenset({"p", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "blockquote"})
_LINE_TAGS = frozenset({"br", "div", "tr", "li", "section", "article", "header", "footer"})
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template"})


@dataclass(frozen=True)
class BodyText:
    text: str | None  # the new part of a reply (the whole text when nothing is quoted)
    full_text: str | None  # the whole body, quoted history included
    truncated: bool = False


class _HtmlText(HTMLParser):
    """Text of an HTML body: block elements become line breaks, blockquotes become `> ` lines.

    Quoting blockquotes is what lets the reply parser find the history of an
    HTML-only reply (Gmail and Apple Mail quote with <blockquote>).
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._words: list[str] = []
        self._skipping = 0
        self._quote_depth = 0

    def _end_line(self) -> None:
        line = " ".join("".join(self._words).split())
        if line:
            self._lines.append(("> " * self._quote_depth + line).rstrip())
        self._words = []

    def _end_paragraph(self) -> None:
        self._end_line()
        blank = ">" * self._quote_depth
        if self._lines and self._lines[-1] != blank:
            self._lines.append(blank)

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self._end_paragraph()
        elif tag in _LINE_TAGS:
            self._end_line()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
            return
        self._block(tag)
        if tag == "blockquote":
            self._quote_depth += 1
        elif tag == "li":
            self._words.append("- ")
        elif tag in ("td", "th"):
            self._words.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
            return
        if tag == "blockquote":
            self._end_line()
            self._quote_depth = max(0, self._quote_depth - 1)
        self._block(tag)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._words.append(data)

    def text(self) -> str:
        self._end_line()
        while self._lines and not self._lines[-1].strip(">"):
            self._lines.pop()
        return "\n".join(self._lines)


def html_to_text(html: str, limits: EmailLimits) -> str:
    parser = _HtmlText()
    parser.feed(html[: limits.max_html_bytes])
    parser.close()
    return parser.text()


def normalize(text: str) -> str:
    """One line ending, no control characters, no trailing blanks, no runs of empty lines."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUN.sub("\n\n", text).strip("\n")


def truncate_utf8(text: str, max_bytes: int) -> tuple[str, bool]:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    budget = max_bytes - len(TRUNCATION_MARK.encode("utf-8"))
    return encoded[:budget].decode("utf-8", "ignore") + TRUNCATION_MARK, True


def _reply_probe(text: str, window: int) -> tuple[str, list[str], bool]:
    """The head of the text the parser may see, long lines swapped for inert placeholders.

    A private-use placeholder matches none of the parser's patterns, and putting
    the line back afterwards restores the reply exactly. The flag says whether
    the head is the whole text.
    """
    head = text.encode("utf-8")[:window].decode("utf-8", "ignore")
    hidden: list[str] = []
    lines = []
    for line in head.split("\n"):
        if len(line) > _MAX_PROBE_LINE:
            hidden.append(line)
            lines.append(f"\ue000{len(hidden) - 1}\ue001")
        else:
            lines.append(line)
    return "\n".join(lines), hidden, len(head) == len(text)


def new_part(text: str, limits: EmailLimits) -> str:
    """The part of a reply above the quoted history (the whole text when nothing is quoted)."""
    probe, hidden, complete = _reply_probe(text, limits.reply_window_bytes)
    message = EmailReplyParser(languages=list(REPLY_LANGUAGES)).read(probe)
    found_history = len(message.replies) > 1
    if not message.replies or (not found_history and not complete):
        return text  # no history inside the window: the whole (long) text is new
    reply = message.replies[0].content
    return _PLACEHOLDER.sub(lambda match: hidden[int(match.group(1))], reply).strip()


def body_text(plain: str | None, html: str | None, limits: EmailLimits) -> BodyText:
    """Prefer the text/plain body; derive text from HTML only when there is none."""
    source = plain if plain and plain.strip() else (html_to_text(html, limits) if html else "")
    full = normalize(source)
    if not full:
        return BodyText(text=None, full_text=None)
    reply = new_part(full, limits)
    text, cut_text = truncate_utf8(reply, limits.max_text_bytes)
    full_text, cut_full = truncate_utf8(full, limits.max_full_text_bytes)
    return BodyText(text=text or None, full_text=full_text, truncated=cut_text or cut_full)
