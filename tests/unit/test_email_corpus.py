"""The MIME parser over the corpus in tests/events/email: one expectation per real-shaped message."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.channels.email.limits import EmailLimits
from shared.channels.email.mime import parse_message
from shared.channels.email.parsed import ParsedEmail
from shared.model.contact import AttachmentType
from tests.builders import EVENTS, event_fixture

CORPUS = EVENTS / "email"
REFERENCE = "TL-FV70XWGY-G"  # shared.model.minted.case_reference("case_demo_1")
OUTLOOK_CONVERSATION = "AdHFfDNCuDr402cYTw89KvGLirs+5g=="


@dataclass(frozen=True)
class Expected:
    text: str | None  # the new part, exactly
    sender: str | None = "ann.jones@example.net"
    subject: str | None = None
    automated: str | None = None
    in_reply_to: str | None = None
    quoted: str | None = None  # a phrase of the history: in full_text, not in text
    attachments: tuple[tuple[AttachmentType, str, str | None], ...] = ()  # (type, content type, name)
    content_ids: tuple[str | None, ...] = field(default=())


CASES: dict[str, Expected] = {
    "plain_text_crlf.eml": Expected(
        "Hello,\n\nI ordered a kettle on 20 February (order 100234) and it has not arrived yet.\n"
        "Can you tell me where it is?\n\nThanks,\nAnn",
        subject="My order has not arrived",
    ),
    "html_only.eml": Expected(
        "Hello team,\n\nMy parcel 100234 is late & the tracking page says nothing.\nCould you check?\n\n"
        "- Kettle\n- Filter\n\nAnn"
    ),
    "alternative.eml": Expected("Please refund order 100234, the kettle leaks."),
    "japanese_iso2022jp.eml": Expected(
        "お世話になっております。\n注文番号100234の商品がまだ届いていません。\n確認をお願いします。\n山田",
        sender="taro.yamada@example.jp",
        subject="注文について",
    ),
    "japanese_utf8.eml": Expected(
        "返品したいのですが、手続きを教えてください。\n佐藤",
        sender="hanako.sato@example.jp",
        subject="返品の手続きについて",
    ),
    "shift_jis.eml": Expected("①配送状況を教えてください。\n鈴木", sender="suzuki@example.jp", subject="配送の件"),
    "windows_1252.eml": Expected("The lid is \u201cbroken\u201d \u2013 I paid 49\u20ac for it."),
    "broken_charset.eml": Expected("Grüße aus München, my order is late."),
    "mislabeled_ascii.eml": Expected("Café order 100234 — still waiting."),
    "latin1_encoded_words.eml": Expected(
        "Bitte erstatten Sie mir den Betrag zurück.\nRenée",
        sender="renee.mueller@example.de",
        subject="Rückerstattung für Bestellung",
    ),
    "attachment_pdf.eml": Expected(
        "Here is the invoice you asked for.",
        attachments=((AttachmentType.FILE, "application/pdf", "invoice-100234.pdf"),),
    ),
    "inline_image.eml": Expected(
        "See the crack:\n\nAnn",
        attachments=((AttachmentType.IMAGE, "image/png", "crack.png"),),
        content_ids=("ii_m7x1d2e30",),
    ),
    "calendar_invite.eml": Expected(
        "You have been invited to: Call about order 100234",
        attachments=(
            (AttachmentType.FILE, "text/calendar", None),
            (AttachmentType.FILE, "application/ics", "invite.ics"),
        ),
    ),
    "gmail_reply.eml": Expected(
        "Thanks, the tracking link works now.",
        in_reply_to="support-0001@acme.example",
        quoted="your parcel is on its way",
    ),
    "outlook_reply_thread_index.eml": Expected(
        "Friday works for me.\n\nBob", sender="bob.miller@contoso.example", quoted="can we deliver on Friday"
    ),
    "outlook_first_message.eml": Expected(
        "When can you deliver order 100777?\n\nBob", sender="bob.miller@contoso.example"
    ),
    "apple_mail_reply.eml": Expected(
        "Got it, I will print the label tonight.\n\nSent from my iPhone",
        in_reply_to="support-0002@acme.example",
        quoted="the return label is attached",
    ),
    "german_reply.eml": Expected(
        "Danke, das passt so.", in_reply_to="support-0003@acme.example", quoted="die Lieferung kommt morgen"
    ),
    "french_reply.eml": Expected(
        "Merci beaucoup, c'est parfait.", in_reply_to="support-0004@acme.example", quoted="votre colis arrive demain"
    ),
    "html_only_gmail_reply.eml": Expected(
        "Yes, please exchange it for the blue one.",
        in_reply_to="support-0005@acme.example",
        quoted="refund or an exchange",
    ),
    "forwarded_as_attachment.eml": Expected(
        "See the confirmation below, the address is wrong.",
        attachments=((AttachmentType.FILE, "message/rfc822", "Your order confirmation.eml"),),
    ),
    "forwarded_inline.eml": Expected(
        "Can you explain this message?\n\n---------- Forwarded message ---------",
        quoted="could not be delivered",
    ),
    "auto_reply_rfc3834.eml": Expected(
        "I am travelling until 10 March with limited access to email.",
        automated="auto-submitted",
        in_reply_to="support-0006@acme.example",
    ),
    "out_of_office_exchange.eml": Expected(
        "I am out of the office until Monday.",
        sender="bob.miller@contoso.example",
        automated="x-auto-response-suppress",
    ),
    "dsn_bounce.eml": Expected(
        "This is the mail system. Your message could not be delivered.",
        sender="MAILER-DAEMON@mx.example.net",
        automated="delivery-report",
        attachments=(
            (AttachmentType.FILE, "message/delivery-status", None),
            (AttachmentType.FILE, "text/rfc822-headers", None),
        ),
    ),
    "mailer_daemon_plain.eml": Expected(
        "Sorry, we were unable to deliver your message to the following address.",
        sender="MAILER-DAEMON@mail.example.org",
        automated="system-sender",
    ),
    "list_mail.eml": Expected(
        "This week on the list: 12 threads.", sender="dev-list@lists.example.org", automated="precedence"
    ),
    "bulk_newsletter.eml": Expected(
        "March news\n\nNew depots opened.", sender="news@parcel.example", automated="precedence"
    ),
    "x_autoreply.eml": Expected("Thank you, we received your message.", automated="x-autoreply"),
    "auto_submitted_no.eml": Expected("Do you have the kettle in blue?"),
    "case_reference_subject.eml": Expected(
        "I wrote last week about my refund, nothing happened.", subject=f"Still waiting [{REFERENCE}]"
    ),
    "case_reference_invalid.eml": Expected("My reference is TL-FV70XWGY-A."),
    "no_message_id.eml": Expected("Sent by an old script."),
    "long_references.eml": Expected("Still here.", in_reply_to="thread-29@acme.example"),
    "malformed_from.eml": Expected("Who am I?", sender=None),
    "smime_signed.eml": Expected(
        "This message is signed.", attachments=((AttachmentType.FILE, "application/pkcs7-signature", "smime.p7s"),)
    ),
    "nested_multipart.eml": Expected(
        "Two photos and the receipt are attached.",
        attachments=(
            (AttachmentType.IMAGE, "image/png", None),
            (AttachmentType.IMAGE, "image/jpeg", "photo1.jpg"),
            (AttachmentType.FILE, "application/pdf", "receipt.pdf"),
        ),
        content_ids=("logo1", None, None),
    ),
    "broken_base64.eml": Expected(
        "Hello, my order is late.", attachments=((AttachmentType.FILE, "application/octet-stream", "data.bin"),)
    ),
    "rfc2231_filename.eml": Expected(
        "See the quote.", attachments=((AttachmentType.FILE, "application/pdf", "Angebot Müller.pdf"),)
    ),
    "signature_dash_dash.eml": Expected("Is the kettle covered by warranty?\n\n--\nAnn Jones\nPhone: on request"),
}


def parsed(name: str) -> ParsedEmail:
    return parse_message(event_fixture("email", name), EmailLimits())


def test_corpus_has_at_least_thirty_messages_and_each_has_an_expectation() -> None:
    files = sorted(path.name for path in Path(CORPUS).glob("*.eml"))
    assert len(files) >= 30
    assert files == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_message_parses_to_its_expected_new_part_sender_and_flags(name: str) -> None:
    expected = CASES[name]
    email = parsed(name)

    assert email.body.text == expected.text
    assert (email.headers.sender.address if email.headers.sender else None) == expected.sender
    assert email.automated == expected.automated
    assert email.headers.in_reply_to == expected.in_reply_to
    if expected.subject is not None:
        assert email.headers.subject == expected.subject
    if expected.quoted is not None:
        assert expected.quoted in (email.body.full_text or "")
        assert expected.quoted not in (email.body.text or "")
    assert [(a.attachment.type, a.attachment.content_type, a.attachment.name) for a in email.attachments] == list(
        expected.attachments
    )
    if expected.content_ids:
        assert tuple(a.attachment.content_id for a in email.attachments) == expected.content_ids
    assert not email.cut_off


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_corpus_message_keeps_its_raw_bytes_for_storage(name: str) -> None:
    assert parsed(name).raw == event_fixture("email", name)


def test_message_ids_are_stored_without_angle_brackets_for_own_id_and_replies_alike() -> None:
    email = parsed("gmail_reply.eml")
    assert email.headers.message_id == "CAGmailReply2@mail.example.net"
    assert email.headers.references == ("CAF3x9aQ1@mail.example.net", "support-0001@acme.example")


def test_long_reference_chains_keep_the_newest_twenty() -> None:
    references = parsed("long_references.eml").headers.references
    assert len(references) == 20
    assert references[0] == "thread-10@acme.example"
    assert references[-1] == "thread-29@acme.example"


def test_outlook_thread_index_of_first_mail_and_reply_names_the_same_conversation() -> None:
    first = parsed("outlook_first_message.eml").headers
    reply = parsed("outlook_reply_thread_index.eml").headers
    assert first.conversation_key == reply.conversation_key == OUTLOOK_CONVERSATION
    assert reply.in_reply_to is None


def test_display_names_in_encoded_words_are_decoded() -> None:
    assert parsed("japanese_iso2022jp.eml").headers.sender.name == "山田 太郎"  # type: ignore[union-attr]
    assert parsed("latin1_encoded_words.eml").headers.sender.name == "Renée Müller"  # type: ignore[union-attr]


def test_attachment_sizes_are_the_decoded_byte_counts() -> None:
    [pdf] = parsed("attachment_pdf.eml").attachments
    assert pdf.attachment.size == len(pdf.payload)
    assert pdf.payload.startswith(b"%PDF-1.4")


def test_an_invalid_check_symbol_yields_no_case_reference() -> None:
    assert parsed("case_reference_invalid.eml").case_references == ()


def test_a_case_reference_in_the_subject_is_found() -> None:
    assert parsed("case_reference_subject.eml").case_references == (REFERENCE,)
