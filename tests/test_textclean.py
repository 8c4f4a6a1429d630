"""textclean: HTML to text, quoted history and signatures out, in the languages we serve."""

from __future__ import annotations

import time

import pytest

from inboxbot.textclean import html_to_text, normalise_whitespace, strip_quoted, strip_signature

NEW = "Please delete my account."

# Reply headers as the common clients write them, one or more per language.
ATTRIBUTIONS = [
    "On Tue, 3 Nov 2026 at 10:14, Privacy Team <privacy@example.com> wrote:",
    "On 3 Nov 2026, at 10:14, privacy@example.com wrote:",
    "Den 3 nov. 2026 kl. 10:14 skrev Integritet <privacy@example.com>:",
    "Den tis 3 nov. 2026 kl 10:14 skrev Integritet <privacy@example.com>:",
    "Den 3. nov. 2026 kl. 10.14 skrev Privatliv <privacy@example.com>:",  # da
    "tir. 3. nov. 2026 kl. 10:14 skrev Personvern <privacy@example.com>:",  # no
    "Am 03.11.2026 um 10:14 schrieb Datenschutz <privacy@example.com>:",
    "Le mar. 3 nov. 2026 à 10:14, Confidentialité <privacy@example.com> a écrit :",
    "El mar, 3 nov 2026 a las 10:14, Privacidad (<privacy@example.com>) escribió:",
    "Il giorno mar 3 nov 2026 alle ore 10:14 Privacy <privacy@example.com> ha scritto:",
    "Op di 3 nov. 2026 om 10:14 schreef Privacy <privacy@example.com>:",
    "ti 3.11.2026 klo 10.14 Tietosuoja (privacy@example.com) kirjoitti:",
    "W dniu 3.11.2026 o 10:14, Prywatność <privacy@example.com> pisze:",
    "wt., 3 lis 2026 o 10:14 Prywatność <privacy@example.com> napisał(a):",
    "Em ter., 3 de nov. de 2026 às 10:14, Privacidade <privacy@example.com> escreveu:",
]


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_attribution_with_quotes(attribution: str) -> None:
    text = f"{NEW}\n\n{attribution}\n> Hello,\n> we received your request.\n"
    assert strip_quoted(text) == NEW


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_attribution_without_quote_marks_cuts_the_rest(attribution: str) -> None:
    text = f"{NEW}\n\n{attribution}\n\nHello,\nwe received your request.\n"
    assert strip_quoted(text) == NEW


def test_attribution_wrapped_over_two_lines() -> None:
    text = f"{NEW}\n\nOn Tue, 3 Nov 2026 at 10:14, Privacy Team <privacy@example.com>\nwrote:\n> old\n"
    assert strip_quoted(text) == NEW


def test_answer_below_the_quote_survives() -> None:
    text = "On 3 Nov 2026, privacy@example.com wrote:\n> Which account?\n\nThe one for anna@example.se."
    assert strip_quoted(text) == "The one for anna@example.se."


@pytest.mark.parametrize(
    "block",
    [
        "From: Privacy <privacy@example.com>\nSent: Tuesday, November 3, 2026 10:14\nTo: Anna\nSubject: Your request",
        "Från: Integritet <privacy@example.com>\nSkickat: den 3 november 2026 10:14\nTill: Anna\nÄmne: Ditt ärende",
        "Von: Datenschutz <privacy@example.com>\nGesendet: Dienstag, 3. November 2026 10:14\nAn: Anna",
        "De : Confidentialité <privacy@example.com>\nEnvoyé : mardi 3 novembre 2026 10:14\nÀ : Anna",
        "Van: Privacy <privacy@example.com>\nVerzonden: dinsdag 3 november 2026 10:14\nAan: Anna",
        "Fra: Privatliv <privacy@example.com>\nSendt: 3. november 2026 10:14\nTil: Anna",
        "Lähettäjä: Tietosuoja <privacy@example.com>\nLähetetty: tiistai 3. marraskuuta 2026 10.14",
        "Od: Prywatność <privacy@example.com>\nWysłano: wtorek, 3 listopada 2026 10:14",
        "De: Privacidade <privacy@example.com>\nEnviado: terça-feira, 3 de novembro de 2026 10:14",
        "Da: Privacy <privacy@example.com>\nInviato: martedì 3 novembre 2026 10:14",
        "*From:* Privacy <privacy@example.com>\n*Sent:* Tuesday, November 3, 2026 10:14",
        "Från: Integritet <privacy@example.com> Skickat: den 3 november 2026 10:14 Till: Anna",
        "-----Original Message-----\nFrom: privacy@example.com",
        "-----Ursprungligt meddelande-----\nFrån: privacy@example.com",
        "-----Ursprüngliche Nachricht-----",
        "________________________________\nFrån: Integritet <privacy@example.com>",
    ],
)
def test_outlook_style_header_blocks(block: str) -> None:
    text = f"{NEW}\n\n{block}\n\nHello Anna, we received your request.\n"
    assert strip_quoted(text) == NEW


def test_plain_lines_that_look_a_bit_like_headers_stay() -> None:
    text = "From: my old address anna@example.se\nI wrote to you before, nobody answered.\nPlease delete."
    assert strip_quoted(text) == text
    assert strip_quoted("I wrote: please delete my data") == "I wrote: please delete my data"


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "closing",
    [
        "Med vänliga hälsningar", "Mvh", "Mvh Anna", "Vänliga hälsningar,", "Best regards,",
        "Kind regards", "Regards", "Mit freundlichen Grüßen", "Cordialement", "Saludos cordiales",
        "Cordiali saluti", "Met vriendelijke groet", "Med venlig hilsen", "Med vennlig hilsen",
        "Ystävällisin terveisin", "Pozdrawiam", "Atenciosamente",
    ],
)
def test_closing_phrase_and_short_block(closing: str) -> None:
    text = f"Hej,\n\nRadera mitt konto.\n\n{closing}\nAnna Svensson\nEkonomichef, Exempel AB\n08-000 00 00"
    assert strip_signature(text) == "Hej,\n\nRadera mitt konto."


def test_dash_dash_space_delimiter() -> None:
    text = "Please delete my data.\n-- \nSam Porter\nExample Org"
    assert strip_signature(text) == "Please delete my data."


def test_closing_phrase_followed_by_a_long_text_is_not_a_signature() -> None:
    long_tail = "\n".join(f"Point {i}: please also delete the records of order {i}." for i in range(15))
    text = f"Hi,\nRegards\n{long_tail}"
    assert strip_signature(text) == text


def test_the_request_itself_is_never_removed() -> None:
    assert strip_signature("Mvh\nAnna") == "Mvh\nAnna"
    assert strip_signature("-- \nplease delete") == "-- \nplease delete"
    assert strip_signature("Best regards to you, please delete my data now") != ""


def test_mobile_footer_is_removed() -> None:
    assert strip_signature("Radera mig.\n\nSkickat från min iPhone") == "Radera mig."
    assert strip_signature("Delete me.\n\nSent from my Android phone") == "Delete me."


# --- HTML and whitespace ---------------------------------------------------------------------


def test_html_blocks_breaks_and_entities() -> None:
    html = (
        "<html><head><style>.x{}</style><title>t</title></head><body>"
        "<h1>Beg&auml;ran</h1><p>Rad&nbsp;ett<br>Rad&#160;tv&aring;</p>"
        "<table><tr><td>Namn</td><td>Anna</td></tr></table>"
        "<script>var a = '<p>no</p>';</script><p>Slut &lt;ok&gt;</p></body></html>"
    )
    assert html_to_text(html) == "Begäran\n\nRad ett\nRad två\n\nNamn Anna\n\nSlut <ok>"


def test_html_blockquote_becomes_quote_marks() -> None:
    html = "<div>Yes, that one.</div><div>On 3 Nov 2026, privacy@example.com wrote:</div>" \
           "<blockquote><p>Which account?</p></blockquote>"
    text = html_to_text(html)
    assert "> Which account?" in text
    assert strip_quoted(text) == "Yes, that one."


def test_broken_html_still_gives_text() -> None:
    assert "hello" in html_to_text("<p>hello<div><b>unclosed <i>tags</p></span>")
    assert html_to_text("<<<>>>&&&;;") is not None


def test_normalise_whitespace() -> None:
    text = "a \t\r\nb\r\r\n\n\n\nc\x00\x07\xa0d  \n-- \nsig\n\n\n"
    assert normalise_whitespace(text) == "a\nb\n\nc d\n-- \nsig"


def test_long_inputs_are_fast() -> None:
    text = ("word " * 40 + "\n") * 2500  # 500 kB, no markers at all
    start = time.perf_counter()
    strip_signature(strip_quoted(text))
    html_to_text("<p>" + text.replace("\n", "<br>") + "</p>")
    strip_quoted("x" * 200_000)  # one enormous line
    assert time.perf_counter() - start < 3.0
