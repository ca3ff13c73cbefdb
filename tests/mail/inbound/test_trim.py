"""Trimming quoted history and signatures, and HTML mail as text: small cases the
corpus does not spell out."""

import pytest

from portal.mail.inbound_html import html_to_text
from portal.mail.inbound_trim import trim_reply

TRIMS = [
    # (what arrived, what the timeline shows)
    ("Yes.\n\nLe lun. 3 juin 2024 à 10:12, Support <s@x.example> a écrit :\n> Question ?", "Yes."),
    ("Klopt.\n\nOp ma 4 jun. 2024 om 10:12 schreef Support <s@x.example>:\n> Vraag", "Klopt."),
    (
        "Sí.\n\nEl lun, 3 jun 2024 a las 10:12, Support (<s@x.example>) escribió:\n> ¿Pregunta?",
        "Sí.",
    ),
    (
        "Danke.\n\nVon: Support <s@x.example>\nGesendet: Montag, 3. Juni 2024 10:12\n"
        "An: Ana\nBetreff: Frage\n\nFrage",
        "Danke.",
    ),
    ("Done.\n\n----- Original Message -----\nFrom: Support\nSent: today\n\nOld", "Done."),
    ("Done.\n\nSupport Desk wrote:\n> Old question", "Done."),
    ("Here you go.\n\n--\nAna\n+31 20 555 0142", "Here you go."),
    ("Short one.\n\nGet Outlook for iOS", "Short one."),
    ("Answer.\n\n-- Reply above this line to answer on the case --\nOld notification", "Answer."),
    # An inline answer keeps the quotes it answers; only the trailing quote block goes.
    (
        "> Which region?\neu-west.\n\n> Since when?\nMonday.\n\n> Thanks\n> Support",
        "> Which region?\neu-west.\n\n> Since when?\nMonday.",
    ),
    # Only quoted text: nothing would remain, so nothing is trimmed.
    ("> just the quote\n> again", "> just the quote\n> again"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), TRIMS)
def test_trim_reply(text, expected):
    assert trim_reply(text) == expected


def test_a_forward_keeps_the_forwarded_mail_and_drops_only_the_signature_above_it():
    text = (
        "Please look at this.\n\n-- \nAna\n\n---------- Forwarded message ---------\n"
        "From: ISP <noc@isp.example>\n\nYou are blocked.\n\n-- \nISP NOC"
    )
    # (trailing spaces go, so the forwarded signature line reads "--")
    assert trim_reply(text, keep_history=True) == (
        "Please look at this.\n\n---------- Forwarded message ---------\n"
        "From: ISP <noc@isp.example>\n\nYou are blocked.\n\n--\nISP NOC"
    )


def test_an_ordinary_sentence_starting_with_on_is_not_an_attribution():
    text = "On Monday we saw 421s.\nOn Tuesday they stopped.\n\nAna"
    assert trim_reply(text) == text


HTML = [
    ("<p>One</p><p>Two<br>Three</p>", "One\n\nTwo\nThree"),
    ("<style>p {color: red}</style><script>x()</script><p>Visible</p>", "Visible"),
    ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
    ("<ol><li>a</li><li>b</li></ol>", "1. a\n2. b"),
    ("<p>See <a href='https://x.example/a'>the page</a></p>", "See the page (https://x.example/a)"),
    ("<p><a href='https://x.example/'>https://x.example/</a></p>", "https://x.example/"),
    ("<p>Hi</p><blockquote><p>old</p><p>older</p></blockquote>", "Hi\n\n> old\n>\n> older"),
    ("<pre>  indented\n  code</pre>", "  indented\n  code"),
    ("<p>&lt;tag&gt; &amp; &quot;q&quot;&nbsp;x</p>", '<tag> & "q" x'),
    ("<table><tr><td>a</td><td>b</td></tr></table>", "a | b"),
    ("<div>unclosed <b>bold<div>next", "unclosed bold\nnext"),
    ("<p>Logo <img src='cid:x' alt='Acme logo'></p>", "Logo [Acme logo]"),
]


@pytest.mark.parametrize(("html", "expected"), HTML)
def test_html_to_text(html, expected):
    assert html_to_text(html) == expected


def test_a_gmail_signature_block_is_marked_so_it_is_trimmed():
    html = '<div>Answer</div><div class="gmail_signature">Ana<br>Acme</div>'
    assert trim_reply(html_to_text(html)) == "Answer"
