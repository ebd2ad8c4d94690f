"""The MIME parser's limits: size, MIME bombs, bounded texts, hostile input for the reply parser."""

from __future__ import annotations

import pytest

from shared.channels.email.limits import EmailLimits, EmailTooLarge
from shared.channels.email.mime import bounded, parse_message
from shared.channels.email.text import TRUNCATION_MARK, body_text, html_to_text, new_part

HEAD = b"From: Ann <ann.jones@example.net>\r\nTo: support@acme.example\r\nSubject: x\r\nMessage-ID: <b@x>\r\n"


def wide_bomb(parts: int) -> bytes:
    body = b"".join(b"--BB\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % index for index in range(parts))
    return HEAD + b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n" + body + b"--BB--\r\n"


def deep_bomb(levels: int) -> bytes:
    opening = b"".join(
        b"Content-Type: multipart/mixed; boundary=L%d\r\n\r\n--L%d\r\n" % (level, level) for level in range(levels)
    )
    closing = b"".join(b"\r\n--L%d--\r\n" % level for level in reversed(range(levels)))
    return HEAD + opening + b"Content-Type: text/plain\r\n\r\ndeepest" + closing


def test_a_message_over_the_size_limit_is_refused_with_413() -> None:
    limits = EmailLimits(max_bytes=1000)
    with pytest.raises(EmailTooLarge) as refused:
        parse_message(HEAD + b"\r\n" + b"x" * 1000, limits)
    assert refused.value.status == 413


def test_a_message_exactly_at_the_limit_is_parsed() -> None:
    raw = HEAD + b"\r\n" + b"hello"
    assert parse_message(raw, EmailLimits(max_bytes=len(raw))).body.text == "hello"


def test_thousands_of_parts_are_cut_off_at_the_part_limit() -> None:
    limits = EmailLimits(max_parts=50)
    email = parse_message(wide_bomb(20_000), limits)

    assert email.cut_off
    assert email.body.full_text is not None
    assert "part 0" in email.body.full_text
    assert "part 60" not in email.body.full_text


def test_very_deep_nesting_is_cut_off_at_the_depth_limit() -> None:
    email = parse_message(deep_bomb(3_000), EmailLimits(max_depth=16))
    assert email.cut_off
    assert email.body.text is None  # the only text lies below the cut


def test_nesting_within_the_depth_limit_is_read_whole() -> None:
    email = parse_message(deep_bomb(5), EmailLimits(max_depth=16))
    assert not email.cut_off
    assert email.body.text == "deepest"


def test_the_pre_scan_leaves_a_well_formed_message_alone() -> None:
    raw = wide_bomb(3)
    assert bounded(raw, EmailLimits()) == (raw, False)


def test_the_pre_scan_closes_every_open_multipart_where_it_cuts() -> None:
    cut, was_cut = bounded(wide_bomb(10), EmailLimits(max_parts=2))
    assert was_cut
    assert cut.rstrip().endswith(b"--BB--")
    assert cut.count(b"--BB\r\n") == 2


def test_more_attachments_than_the_limit_keep_the_first_ones() -> None:
    parts = b"".join(
        b'--AA\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="f%d.pdf"\r\n\r\n%%PDF\r\n'
        % index
        for index in range(40)
    )
    raw = HEAD + b"Content-Type: multipart/mixed; boundary=AA\r\n\r\n" + parts + b"--AA--\r\n"
    email = parse_message(raw, EmailLimits(max_attachments=30))
    assert len(email.attachments) == 30
    assert email.attachments[0].attachment.name == "f0.pdf"
    assert email.cut_off


def test_texts_are_capped_in_utf8_bytes_and_marked_truncated() -> None:
    limits = EmailLimits(max_text_bytes=1024, max_full_text_bytes=2048)
    body = body_text("日本語" * 2000, None, limits)

    assert body.truncated
    assert body.text is not None
    assert body.full_text is not None
    assert body.text.endswith(TRUNCATION_MARK)
    assert len(body.text.encode()) <= 1024
    assert len(body.full_text.encode()) <= 2048


def test_control_characters_and_runs_of_blank_lines_are_removed() -> None:
    body = body_text("Hello\x00\x07\r\n\r\n\r\n\r\n\r\nworld\x1b", None, EmailLimits())
    assert body.full_text == "Hello\n\nworld"


def test_a_long_text_without_history_in_the_reply_window_stays_whole() -> None:
    text = "a sentence that goes on. " * 2000
    assert new_part(text.strip(), EmailLimits(reply_window_bytes=1024)) == text.strip()


def test_history_inside_the_reply_window_is_cut_even_when_the_text_is_longer() -> None:
    text = "Thanks!\n\nOn Tue, 4 Mar 2025 at 10:12, Acme <support@acme.example> wrote:\n" + "> old line\n" * 3000
    assert new_part(text, EmailLimits(reply_window_bytes=1024)) == "Thanks!"


@pytest.mark.parametrize(
    "hostile",
    [
        "On " * 30_000,  # one long line the "On … wrote:" pattern backtracks over
        "\n" * 60_000,  # blank lines the signature pattern scans from every position
        ">\n" * 30_000,
        "-\n" * 30_000,
        "x" + " " * 60_000 + "x",
    ],
    ids=["on-line", "blank-lines", "quote-lines", "dash-lines", "spaces"],
)
def test_hostile_bodies_come_back_from_the_reply_parser(hostile: str) -> None:
    # A regression here hangs this test (the library's patterns are superlinear on such input).
    body = body_text(hostile, None, EmailLimits())
    assert body.full_text is None or len(body.full_text.encode()) <= EmailLimits().max_full_text_bytes + 64


def test_long_lines_hidden_from_the_reply_parser_come_back_exactly() -> None:
    paragraph = "word " * 200
    text = f"{paragraph.strip()}\n\nOn Tue, 4 Mar 2025, Acme <support@acme.example> wrote:\n> quoted"
    assert new_part(text, EmailLimits()) == paragraph.strip()


def test_html_blockquotes_become_quoted_lines_and_scripts_vanish() -> None:
    html = "<div>Yes</div><blockquote>Earlier <b>message</b></blockquote><script>x()</script><p>a&amp;b</p>"
    assert html_to_text(html, EmailLimits()) == "Yes\n\n> Earlier message\n\na&b"


def test_unknown_charset_in_an_encoded_word_leaves_the_subject_readable() -> None:
    raw = b"From: ann.jones@example.net\r\nSubject: =?x-unknown?Q?Hello?= world\r\nMessage-ID: <u@x>\r\n\r\nbody\r\n"
    subject = parse_message(raw, EmailLimits()).headers.subject
    assert subject is not None
    assert "world" in subject


def test_raw_utf8_in_headers_is_read_as_utf8() -> None:
    raw = "From: Zoë <zoe@example.net>\r\nSubject: Prüfung\r\nMessage-ID: <r@x>\r\n\r\nbody\r\n".encode()
    email = parse_message(raw, EmailLimits())
    assert email.headers.subject == "Prüfung"
    assert email.headers.sender is not None
    assert email.headers.sender.name == "Zoë"
