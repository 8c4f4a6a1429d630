"""RuleClassifier over realistic messages in Swedish, English and ten more languages.

The per-intent cases are data (SV_CASES, EN_CASES, OTHER_CASES) so they can be scored as a set too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxbot.classify.lexicon import LexiconError, load_lexicon, load_lexicons
from inboxbot.classify.rules import RuleClassifier, find_reference
from inboxbot.domain import Intent, Verdict
from tests.helpers_inbound import make_inbound

LEXICON_DIR = Path(__file__).resolve().parent.parent / "prompts" / "lexicon"


@pytest.fixture(scope="module")
def clf() -> RuleClassifier:
    return RuleClassifier(LEXICON_DIR)


def run(clf: RuleClassifier, body: str, subject: str = "", language: str = "und", **kw: object) -> Verdict:
    return clf.classify([make_inbound(body, subject, language=language, **kw)])[0]  # type: ignore[arg-type]


# (language, subject, body, expected label)
SV_CASES: list[tuple[str, str, str, str]] = [
 # access
 ("sv", "Registerutdrag", "Hej! Jag vill begära ett registerutdrag enligt GDPR. Mvh Anna", "access"),
 ("sv", "", "Vilka personuppgifter har ni om mig? Jag vill ha en kopia.", "access"),
 ("sv", "Fråga", "Hej, kan ni skicka mig en kopia av mina personuppgifter som ni lagrar?", "access"),
 ("sv", "Begäran om tillgång", "Jag begär härmed tillgång till mina personuppgifter enligt artikel 15 i dataskyddsförordningen.", "access"),
 ("sv", "", "Hej. Vad har ni för uppgifter om mig och varifrån fick ni mitt telefonnummer?", "access"),
 ("sv", "Utdrag", "Jag skulle vilja ha ett utdrag ur ert register över allt ni sparat om mig.", "access"),
 # erasure
 ("sv", "Radera mig", "Hej, jag vill bli raderad ur ert kundregister. Tack.", "erasure"),
 ("sv", "", "Radera alla mina uppgifter omgående.", "erasure"),
 ("sv", "Ta bort konto", "Hej! Jag vill att ni tar bort mitt konto och all information om mig.", "erasure"),
 ("sv", "Rätten att bli glömd", "Jag åberopar rätten att bli glömd och begär radering av mina personuppgifter.", "erasure"),
 ("sv", "", "Jag har inte handlat hos er på flera år. Ta bort mina personuppgifter, tack.", "erasure"),
 ("sv", "Avsluta", "Vänligen avsluta mitt kundkonto och radera uppgifterna.", "erasure"),
 # rectification
 ("sv", "Fel adress", "Hej, ni har fel adress på mig. Rätta den till Storgatan 5, 123 45 Exempelstad.", "rectification"),
 ("sv", "Namnbyte", "Jag har bytt efternamn till Lund. Kan ni uppdatera mitt namn i ert system?", "rectification"),
 ("sv", "", "Mitt personnummer är felaktigt registrerat hos er, vänligen korrigera det.", "rectification"),
 ("sv", "Felstavat", "Mitt förnamn är felstavat i era utskick, det ska vara Jonas med s.", "rectification"),
 ("sv", "Rättelse", "Jag begär rättelse av felaktiga uppgifter om mig enligt artikel 16.", "rectification"),
 # objection
 ("sv", "Invändning", "Jag invänder mot att ni behandlar mina personuppgifter för direktmarknadsföring.", "objection"),
 ("sv", "", "Jag motsätter mig all profilering av mig.", "objection"),
 ("sv", "Marknadsföring", "Jag vill inte att ni använder mina uppgifter för marknadsföring eller analys.", "objection"),
 ("sv", "Invändning enligt art 21", "Härmed gör jag invändning mot er behandling som grundas på berättigat intresse.", "objection"),
 ("sv", "", "Sluta använda mina personuppgifter för riktad reklam, jag motsätter mig detta.", "objection"),
 # restriction
 ("sv", "Begränsning", "Jag begär att ni begränsar behandlingen av mina uppgifter tills tvisten är löst.", "restriction"),
 ("sv", "", "Enligt artikel 18 vill jag ha begränsning av behandlingen av mina personuppgifter.", "restriction"),
 ("sv", "Spärra", "Kan ni spärra mina uppgifter medan ni utreder om de är korrekta?", "restriction"),
 ("sv", "Begränsa", "Jag vill utöva min rätt att begränsa behandlingen. Radera inget, men använd inte uppgifterna.", "restriction"),
 ("sv", "", "Ni får spara mina uppgifter men jag kräver begränsad behandling från och med nu.", "restriction"),
 # portability
 ("sv", "Dataportabilitet", "Jag vill utnyttja min rätt till dataportabilitet.", "portability"),
 ("sv", "", "Kan ni exportera mina uppgifter i ett maskinläsbart format så jag kan byta leverantör?", "portability"),
 ("sv", "Flytta data", "Jag vill flytta mina uppgifter till en annan tjänst, skicka dem som CSV-fil.", "portability"),
 ("sv", "Överföring", "Vänligen överför mina personuppgifter direkt till Exempelbolaget AB.", "portability"),
 ("sv", "", "Begäran enligt artikel 20: skicka min träningshistorik i ett strukturerat, allmänt använt format.", "portability"),
 # consent withdrawal
 ("sv", "Samtycke", "Jag återkallar härmed mitt samtycke till behandling av mina personuppgifter.", "consent_withdrawal"),
 ("sv", "", "Jag drar tillbaka mitt samtycke för era kundundersökningar.", "consent_withdrawal"),
 ("sv", "Återkallelse", "Mitt samtycke återkallas från och med idag.", "consent_withdrawal"),
 ("sv", "", "Jag samtycker inte längre till att ni lagrar mina bilder.", "consent_withdrawal"),
 ("sv", "Ta tillbaka samtycke", "Hej, jag vill ta tillbaka mitt samtycke till cookies och spårning.", "consent_withdrawal"),
 # unsubscribe
 ("sv", "Avregistrering", "Avregistrera mig från ert nyhetsbrev.", "unsubscribe"),
 ("sv", "", "Sluta skicka mejl till mig!", "unsubscribe"),
 ("sv", "Nyhetsbrev", "Jag vill inte längre få era nyhetsbrev.", "unsubscribe"),
 ("sv", "", "Ta bort mig från er utskickslista tack.", "unsubscribe"),
 ("sv", "Utskick", "Hej, jag vill säga upp prenumerationen på ert nyhetsbrev.", "unsubscribe"),
 ("sv", "", "Inga fler erbjudanden tack, jag har försökt avanmäla mig två gånger.", "unsubscribe"),
 # complaint
 ("sv", "Klagomål", "Jag vill lämna ett klagomål på hur ni har hanterat mina uppgifter.", "complaint"),
 ("sv", "", "Detta är helt oacceptabelt. Jag kommer att anmäla er till IMY.", "complaint"),
 ("sv", "Anmälan", "Ni har inte svarat på fem veckor. Jag anmäler er till Integritetsskyddsmyndigheten.", "complaint"),
 ("sv", "", "Ni bryter mot GDPR genom att sälja mina uppgifter och jag kräver skadestånd.", "complaint"),
 ("sv", "Missnöjd", "Jag är mycket missnöjd och vill klaga på er kundtjänst som lämnade ut min adress.", "complaint"),
 # general
 ("sv", "Fråga om integritetspolicy", "Hej, var hittar jag er integritetspolicy?", "general"),
 ("sv", "", "Hur länge sparar ni uppgifter om tidigare kunder?", "general"),
 ("sv", "Biträdesavtal", "Vi är kund hos er och behöver ett personuppgiftsbiträdesavtal. Kan ni skicka ett?", "general"),
 ("sv", "", "Vem är ert dataskyddsombud?", "general"),
 ("sv", "Tredjeland", "Överför ni personuppgifter till tredje land, till exempel USA?", "general"),
]
EN_CASES: list[tuple[str, str, str, str]] = [
 # access
 ("en", "Subject access request", "Hello, I am making a subject access request under the UK GDPR.", "access"),
 ("en", "", "What personal data do you hold about me? Please send me a copy.", "access"),
 ("en", "My data", "Could you please provide a copy of all the personal information you have on me?", "access"),
 ("en", "Request", "Under Article 15 I request access to my personal data and information about how it is processed.", "access"),
 ("en", "", "How did you get my email address? I never signed up. I want to know what data you have about me.", "access"),
 ("en", "DSAR", "Please treat this email as a DSAR.", "access"),
 # erasure
 ("en", "Delete my account", "Please delete my account and all associated data.", "erasure"),
 ("en", "", "I want all my personal data erased from your systems.", "erasure"),
 ("en", "Right to be forgotten", "I am exercising my right to be forgotten.", "erasure"),
 ("en", "", "Hi, please remove me from your database entirely, I no longer use your service.", "erasure"),
 ("en", "Erasure request", "This is an erasure request under Article 17 GDPR. Kind regards, Tom", "erasure"),
 ("en", "", "I would like my data deleted please.", "erasure"),
 # rectification
 ("en", "Wrong address", "Your records show the wrong address for me. Please update my address to 12 Example Road.", "rectification"),
 ("en", "", "My name is misspelled on all your letters. It should be Catherine, not Katherine.", "rectification"),
 ("en", "Name change", "I got married and changed my surname. Please correct my details.", "rectification"),
 ("en", "", "The date of birth you have for me is incorrect.", "rectification"),
 ("en", "Rectification", "I request rectification of inaccurate personal data under Article 16.", "rectification"),
 # objection
 ("en", "Objection", "I object to the processing of my personal data for direct marketing.", "objection"),
 ("en", "", "I object to you using my data for marketing.", "objection"),
 ("en", "Profiling", "Please stop profiling me. I do not want my data used for targeted advertising.", "objection"),
 ("en", "", "Under Article 21 I object to processing based on your legitimate interests.", "objection"),
 ("en", "Stop", "Stop using my personal data for analytics, I exercise my right to object.", "objection"),
 # restriction
 ("en", "Restriction", "I request restriction of processing of my personal data while you verify its accuracy.", "restriction"),
 ("en", "", "Please restrict the processing of my data until my complaint is resolved.", "restriction"),
 ("en", "Article 18", "I am invoking my right to restrict processing under Article 18.", "restriction"),
 ("en", "", "Don't delete anything yet, but freeze the processing of my information.", "restriction"),
 ("en", "Limit use", "Please limit the use of my data to what is strictly necessary for the contract.", "restriction"),
 # portability
 ("en", "Data portability", "I would like to exercise my right to data portability.", "portability"),
 ("en", "", "Can you export my data in a machine-readable format like JSON?", "portability"),
 ("en", "Transfer", "Please transfer my account data to another provider, Example Ltd.", "portability"),
 ("en", "", "I want to download all my data in a structured, commonly used format.", "portability"),
 ("en", "Moving", "I'm switching services. Please send my order history as a CSV file so I can move it.", "portability"),
 # consent
 ("en", "Consent", "I withdraw my consent to the processing of my personal data.", "consent_withdrawal"),
 ("en", "", "I hereby revoke my consent for you to use my photos on your website.", "consent_withdrawal"),
 ("en", "Withdrawal", "My consent is hereby withdrawn with immediate effect.", "consent_withdrawal"),
 ("en", "", "I no longer consent to you storing my health information.", "consent_withdrawal"),
 ("en", "Cookies", "I'd like to withdraw consent for tracking cookies on my account.", "consent_withdrawal"),
 # unsubscribe
 ("en", "Unsubscribe", "Please unsubscribe me from your newsletter.", "unsubscribe"),
 ("en", "", "Stop sending me emails.", "unsubscribe"),
 ("en", "Remove", "Remove me from your mailing list immediately.", "unsubscribe"),
 ("en", "", "I don't want to receive any more marketing emails from you.", "unsubscribe"),
 ("en", "Too many emails", "No more newsletters please. The unsubscribe link is broken.", "unsubscribe"),
 ("en", "", "Please take me off your list.", "unsubscribe"),
 # complaint
 ("en", "Complaint", "I wish to make a complaint about how my data was handled.", "complaint"),
 ("en", "", "This is unacceptable. I will report you to the supervisory authority.", "complaint"),
 ("en", "Formal complaint", "I am lodging a formal complaint. You have ignored me for six weeks.", "complaint"),
 ("en", "", "You sold my details without asking. That is illegal and I will complain to the ICO.", "complaint"),
 ("en", "Disgraceful", "Your handling of my case has been disgraceful and I expect compensation.", "complaint"),
 # general
 ("en", "Question", "Where can I find your privacy policy?", "general"),
 ("en", "", "How long do you keep customer records after an account is closed?", "general"),
 ("en", "DPA", "We need a data processing agreement signed before we start using your service.", "general"),
 ("en", "", "Who is your data protection officer?", "general"),
 ("en", "Hosting", "Which third parties do you share customer data with?", "general"),
]
OTHER_CASES: list[tuple[str, str, str, str]] = [
    ("de", "Löschung", "Bitte löschen Sie meine personenbezogenen Daten gemäß Art. 17 DSGVO.", "erasure"),
    ("de", "", "Ich bitte um Auskunft über die zu meiner Person gespeicherten Daten.", "access"),
    ("de", "Newsletter", "Bitte keine weiteren Newsletter, ich möchte mich abmelden.", "unsubscribe"),
    ("de", "", "Ich widerrufe hiermit meine Einwilligung zur Datenverarbeitung.", "consent_withdrawal"),
    ("fr", "Suppression", "Je vous demande de supprimer toutes mes données personnelles.", "erasure"),
    ("fr", "", "Je souhaite exercer mon droit d'accès et obtenir une copie de mes données.", "access"),
    ("fr", "", "Je m'oppose au traitement de mes données à des fins de prospection.", "objection"),
    ("es", "", "Solicito que eliminen mis datos de su base de datos.", "erasure"),
    ("es", "Baja", "Quiero darme de baja de su boletín.", "unsubscribe"),
    ("es", "", "Ejerzo mi derecho de acceso a mis datos personales.", "access"),
    ("it", "", "Vi chiedo di cancellare i miei dati personali.", "erasure"),
    ("it", "Consenso", "Revoco il mio consenso al trattamento dei dati.", "consent_withdrawal"),
    ("it", "", "Vorrei esercitare il diritto di accesso ai miei dati.", "access"),
    ("nl", "", "Graag verwijder al mijn persoonsgegevens.", "erasure"),
    ("nl", "Inzage", "Ik dien hierbij een inzageverzoek in.", "access"),
    ("nl", "", "Ik wil me afmelden voor de nieuwsbrief.", "unsubscribe"),
    ("da", "", "Slet venligst alle mine personoplysninger.", "erasure"),
    ("da", "Indsigt", "Jeg anmoder om indsigt i mine personoplysninger.", "access"),
    ("no", "", "Vennligst slett alle mine personopplysninger.", "erasure"),
    ("no", "Innsyn", "Jeg ber om innsyn i hvilke personopplysninger dere har om meg.", "access"),
    ("no", "", "Jeg trekker tilbake mitt samtykke.", "consent_withdrawal"),
    ("fi", "", "Pyydän, että poistatte kaikki tietoni rekisteristänne. Poistakaa tietoni.", "erasure"),
    ("fi", "Tarkastuspyyntö", "Tämä on tarkastuspyyntö henkilötiedoistani.", "access"),
    ("pl", "", "Proszę o usunięcie moich danych osobowych.", "erasure"),
    ("pl", "Zgoda", "Wycofuję zgodę na przetwarzanie moich danych.", "consent_withdrawal"),
    ("pt", "", "Peço que apaguem os meus dados pessoais.", "erasure"),
    ("pt", "Acesso", "Gostaria de exercer o direito de acesso aos meus dados.", "access"),
    ("pt", "", "Não quero receber mais emails promocionais.", "unsubscribe"),
]

# A second round, written after the first lexicon draft; the misses it showed were fixed.
ROUND_TWO: list[tuple[str, str, str, str]] = [
    ('sv', '', 'Hej! Kan jag få se all data ni har sparat om mig?', 'access'),
    ('sv', 'GDPR', 'Jag vill veta vilken information ni har registrerad om mig och hur den används.', 'access'),
    ('sv', '', 'Skicka en sammanställning av mina personuppgifter till mig, tack.', 'access'),
    ('sv', 'Konto', 'Hej, jag vill att ni raderar allt om mig, jag vill inte vara kund längre.', 'erasure'),
    ('sv', '', 'Kan ni rensa bort mig ur era system helt och hållet?', 'erasure'),
    ('sv', 'Radering', 'Jag vill att mina uppgifter tas bort permanent.', 'erasure'),
    ('sv', '', 'Ni har fel telefonnummer till mig, det rätta är 070-000 00 00.', 'rectification'),
    ('sv', 'Adressändring', 'Jag har flyttat, ändra adressen till Nygatan 3.', 'rectification'),
    ('sv', '', 'Jag vill inte bli profilerad för reklamändamål.', 'objection'),
    ('sv', '', 'Sluta använda mina uppgifter för marknadsföring.', 'objection'),
    ('sv', '', 'Ni får inte använda mina uppgifter förrän ni rett ut felet, begränsa användningen.', 'restriction'),
    ('sv', '', 'Jag vill få ut min data så att jag kan ta den till en annan leverantör.', 'portability'),
    ('sv', '', 'Jag ångrar mitt samtycke till att ni sparar mina uppgifter.', 'consent_withdrawal'),
    ('sv', 'Samtycke', 'Härmed återkallar jag samtycket jag lämnade vid registreringen.', 'consent_withdrawal'),
    ('sv', '', 'Vill inte ha några mer mejl från er.', 'unsubscribe'),
    ('sv', '', 'Hur avslutar jag era nyhetsbrev? Länken fungerar inte.', 'unsubscribe'),
    ('sv', 'Spam', 'Jag får spam från er varje dag, sluta!', 'unsubscribe'),
    ('sv', '', 'Jag är väldigt missnöjd med hur ni hanterat min begäran och vill framföra ett klagomål.', 'complaint'),
    ('sv', '', 'Om jag inte får svar inom en vecka vänder jag mig till IMY.', 'complaint'),
    ('sv', '', 'Vilken rättslig grund har ni för att behandla kunduppgifter?', 'general'),
    ('sv', '', 'Hej, säljer ni uppgifter till andra företag?', 'general'),
    ('en', '', "Can I see all the data you've collected on me?", 'access'),
    ('en', 'Info request', 'Please tell me what information you store about me and who you share it with.', 'access'),
    ('en', '', "I'd like a full copy of everything you hold on file about me.", 'access'),
    ('en', '', "Get rid of all my information, I'm done with your company.", 'erasure'),
    ('en', 'Account', 'Please close my account and erase everything.', 'erasure'),
    ('en', '', 'Kindly purge my details from your CRM.', 'erasure'),
    ('en', '', 'You have my phone number wrong, it should end in 42.', 'rectification'),
    ('en', 'Address', "I've moved house, please change the address on my account.", 'rectification'),
    ('en', '', "I don't consent to being profiled for advertising purposes.", 'objection'),
    ('en', '', 'Please stop processing my data for marketing purposes.', 'objection'),
    ('en', '', 'Please put a hold on processing my data while the dispute is ongoing.', 'restriction'),
    ('en', '', "I'd like to take my data to a competitor; please send it in a format I can import.", 'portability'),
    ('en', '', "I'm withdrawing the consent I gave when I signed up.", 'consent_withdrawal'),
    ('en', '', 'Revoke my consent for SMS marketing.', 'consent_withdrawal'),
    ('en', '', 'Stop spamming me.', 'unsubscribe'),
    ('en', 'Emails', 'How do I stop getting your promotional emails?', 'unsubscribe'),
    ('en', '', 'Take me off all your lists, thanks.', 'unsubscribe'),
    ('en', '', "I'm extremely unhappy with how you've handled my request and want to escalate this formally.", 'complaint'),
    ('en', '', "If I don't hear back, I'll be contacting the Information Commissioner's Office.", 'complaint'),
    ('en', '', 'Do you transfer personal data outside the EU?', 'general'),
    ('en', '', 'Is my data stored in Sweden?', 'general'),
]

# A third round, scored blind before its misses were fixed (see the report: 26/40 labels right).
ROUND_THREE: list[tuple[str, str, str, str]] = [
    ('sv', 'Mina uppgifter', 'Hej,\n\nJag blev kund hos er 2019 men har inte använt tjänsten på länge. Jag skulle vilja att ni tar bort all information ni har om mig.\n\nMed vänliga hälsningar\nKarin', 'erasure'),
    ('sv', '', 'God dag. Enligt dataskyddsförordningen har jag rätt att få veta vad ni lagrar om mig. Var vänlig skicka detta till mig.', 'access'),
    ('sv', 'Begäran', 'Hej! Jag ber er härmed att skicka mig samtliga personuppgifter ni behandlar om mig, samt ändamålen med behandlingen.', 'access'),
    ('sv', 'Fel namn', 'Hej, i era utskick står det Hanna Larsson men jag heter Hanna Lindberg sedan jag gifte mig. Kan ni ändra det?', 'rectification'),
    ('sv', '', 'Tjena, sluta skicka sms till mig om erbjudanden.', 'unsubscribe'),
    ('sv', 'Nyhetsbrev', 'Jag har aldrig anmält mig till ert nyhetsbrev. Ta bort mig från utskicken.', 'unsubscribe'),
    ('sv', '', 'Jag vill inte ha er reklam i brevlådan längre.', 'unsubscribe'),
    ('sv', 'Marknadsföring', 'Jag motsätter mig att ni skickar direktreklam baserad på mina köp.', 'objection'),
    ('sv', '', 'Jag godkänner inte längre att ni använder mina bilder på er hemsida.', 'consent_withdrawal'),
    ('sv', '', 'Ni har lämnat ut mitt personnummer till en annan kund. Detta är en allvarlig incident och jag kommer att göra en anmälan.', 'complaint'),
    ('sv', 'Klagomål', 'Jag skrev för sex veckor sedan och har fortfarande inte fått något svar. Det är inte acceptabelt.', 'complaint'),
    ('sv', '', 'Kan ni flytta över min kundhistorik till mitt nya konto hos en annan bank?', 'portability'),
    ('sv', '', 'Hej! Jag vill att ni pausar all behandling av mina uppgifter medan ni utreder mitt ärende.', 'restriction'),
    ('sv', 'Cookies', 'Hej, vilka cookies använder ni på er webbplats?', 'general'),
    ('sv', '', 'Var lagras era kunduppgifter, i Sverige eller utomlands?', 'general'),
    ('sv', 'Radera', 'Jag vill att mitt konto raderas. Jag vill också ha en bekräftelse när det är gjort.', 'erasure'),
    ('sv', '', 'Avsluta mitt medlemskap och ta bort mina uppgifter.', 'erasure'),
    ('sv', '', 'Hej, hur gör jag för att se vilka uppgifter ni har om mig?', 'access'),
    ('sv', 'Rätta', 'Min e-postadress är fel stavad i ert system, det ska vara anna.berg@example.se.', 'rectification'),
    ('sv', '', 'Jag vill inte att mina uppgifter delas med era samarbetspartners.', 'objection'),
    ('en', 'Data', 'Hi there,\n\nI used your app a few years ago and would like you to delete everything you have about me.\n\nThanks,\nSam', 'erasure'),
    ('en', '', 'Under GDPR I am entitled to know what you hold about me. Please send it to this address.', 'access'),
    ('en', 'Request', 'Please provide all personal data you process about me and the purposes of processing.', 'access'),
    ('en', 'Name', 'You still have my maiden name on my account. My name is now Sarah Cole, please amend it.', 'rectification'),
    ('en', '', 'Stop texting me about offers.', 'unsubscribe'),
    ('en', 'Newsletter', 'I never signed up to this newsletter. Take me off it.', 'unsubscribe'),
    ('en', '', 'I want to opt out of all marketing communications.', 'unsubscribe'),
    ('en', 'Marketing', 'I object to receiving direct marketing based on my purchase history.', 'objection'),
    ('en', '', 'I no longer agree to you using my photos on your website.', 'consent_withdrawal'),
    ('en', '', 'You disclosed my address to another customer. This is a serious matter and I will be taking it further.', 'complaint'),
    ('en', 'Complaint', 'I wrote six weeks ago and still have no answer. This is not acceptable.', 'complaint'),
    ('en', '', 'Can you send my purchase history to my new provider directly?', 'portability'),
    ('en', '', 'Please pause all processing of my data while you investigate my case.', 'restriction'),
    ('en', 'Cookies', 'Which cookies do you use on your website?', 'general'),
    ('en', '', 'Where do you store customer data, in the EU or elsewhere?', 'general'),
    ('en', 'Delete', 'I want my account gone. Please confirm when it has been done.', 'erasure'),
    ('en', '', 'Cancel my membership and remove my details.', 'erasure'),
    ('en', '', 'Hi, how can I see what information you have about me?', 'access'),
    ('en', 'Fix', 'My email address is spelled wrong in your system, it should be sam.lee@example.com.', 'rectification'),
    ('en', '', "I don't want my data shared with your partners.", 'objection'),
]

ALL_CASES = SV_CASES + EN_CASES + OTHER_CASES + ROUND_TWO + ROUND_THREE


@pytest.mark.parametrize(("lang", "subject", "body", "label"), ALL_CASES)
def test_intent_cases(clf: RuleClassifier, lang: str, subject: str, body: str, label: str) -> None:
    verdict = run(clf, body, subject, lang)
    assert verdict.label == Intent(label), verdict.reasons
    assert not verdict.automated
    assert verdict.confidence >= 0.55 and not verdict.needs_review, verdict
    assert verdict.reasons and verdict.reasons[0].startswith("lexicon ")


def test_at_least_five_cases_per_intent_and_language() -> None:
    for cases in (SV_CASES, EN_CASES):
        for intent in Intent:
            if intent is Intent.AUTO_REPLY:
                continue
            assert sum(1 for c in cases if c[3] == intent.value) >= 5, intent
    for lang in ("de", "fr", "es", "it", "nl", "da", "no", "fi", "pl", "pt"):
        assert sum(1 for c in OTHER_CASES if c[0] == lang) >= 2, lang


@pytest.mark.parametrize(
    ("lang", "body"),
    [
        ("sv", "Radera mina uppgifter."),
        ("en", "Please delete my account."),
        ("en", "Unsubscribe me from the newsletter."),
        ("sv", "Jag återkallar mitt samtycke."),
        ("en", "I object to direct marketing."),
    ],
)
def test_clear_one_liners_are_confident(clf: RuleClassifier, lang: str, body: str) -> None:
    assert run(clf, body, language=lang).confidence >= 0.8


@pytest.mark.parametrize(
    ("lang", "body"),
    [
        ("en", "Hi, I have a question about my order."),
        ("sv", "Hej, ring mig när ni har tid."),
        ("en", "The update you sent was confusing."),
        ("sv", "Jag undrar över något i ert samtycke-formulär."),
        ("und", "Hello?"),
        ("sv", "Hej, jag har en fråga angående min faktura."),
        ("en", "Hi, can someone call me back about my contract?"),
    ],
)
def test_ambiguous_messages_go_to_review(clf: RuleClassifier, lang: str, body: str) -> None:
    verdict = run(clf, body, language=lang)
    assert verdict.confidence < 0.55 and verdict.needs_review, verdict


@pytest.mark.parametrize(
    ("lang", "body", "expected"),
    [
        ("sv", "Radera mina uppgifter och sluta skicka nyhetsbrev.", {"erasure", "unsubscribe"}),
        ("en", "Please send me a copy of my data and then delete my account.", {"access", "erasure"}),
        ("en", "I withdraw my consent and I will file a complaint with the ICO.", {"consent_withdrawal", "complaint"}),
        ("sv", "Rätta min adress och sluta skicka reklam.", {"rectification", "unsubscribe"}),
        ("sv", "Jag vill ha ett registerutdrag. Detta är oacceptabelt och jag anmäler er till IMY.", {"access", "complaint"}),
    ],
)
def test_multi_intent(clf: RuleClassifier, lang: str, body: str, expected: set[str]) -> None:
    verdict = run(clf, body, language=lang)
    assert {i.value for i in verdict.intent_set} == expected, verdict.reasons
    assert verdict.label.value in expected


@pytest.mark.parametrize(
    "body",
    [
        "I would like you to delete all personal data you hold about me.",
        "Please erase all the data that you have about me.",
    ],
)
def test_data_you_hold_as_the_object_of_a_deletion_is_not_access(clf: RuleClassifier, body: str) -> None:
    verdict = run(clf, body, language="en")
    assert {i.value for i in verdict.intent_set} == {"erasure"}, verdict.reasons
    # The same words asked for on their own are still an access request.
    alone = run(clf, "Please send me all personal data you hold about me.", language="en")
    assert alone.label.value == "access", alone.reasons


def test_multi_intent_label_prefers_the_right_over_unsubscribe(clf: RuleClassifier) -> None:
    verdict = run(clf, "Radera mina uppgifter och sluta skicka nyhetsbrev.", language="sv")
    assert verdict.label is Intent.ERASURE
    assert verdict.intents[0].intent is Intent.ERASURE


@pytest.mark.parametrize(
    ("lang", "body", "label"),
    [
        ("en", "I do NOT want my account deleted. Please just correct my address.", "rectification"),
        ("en", "Don't delete, just correct my surname.", "rectification"),
        ("sv", "Radera inte mitt konto, men rätta min adress.", "rectification"),
        ("sv", "Jag vill inte att ni raderar mina uppgifter, bara uppdatera min e-postadress.", "rectification"),
        ("de", "Bitte löschen Sie mein Konto nicht, korrigieren Sie bitte meine Adresse.", "rectification"),
    ],
)
def test_negated_erasure_becomes_rectification(clf: RuleClassifier, lang: str, body: str, label: str) -> None:
    verdict = run(clf, body, language=lang)
    assert verdict.label == Intent(label), verdict.reasons
    assert not verdict.has(Intent.ERASURE)


@pytest.mark.parametrize(
    ("lang", "body"),
    [
        ("en", "I do not want my account deleted."),
        ("en", "Please don't delete my data, I still use the service."),
        ("sv", "Jag vill inte att ni raderar mitt konto."),
    ],
)
def test_negated_erasure_alone_is_not_confident(clf: RuleClassifier, lang: str, body: str) -> None:
    verdict = run(clf, body, language=lang)
    assert not (verdict.label is Intent.ERASURE and verdict.confidence >= 0.55), verdict
    assert any("negated" in r for r in verdict.reasons)


@pytest.mark.parametrize(
    ("lang", "body"),
    [
        ("sv", "Hej, jag tror att det har skett ett dataintrång hos er, jag fick ett mejl med min kundinfo från en okänd avsändare."),
        ("sv", "Ni har skickat mina lönespecifikationer till fel person. Det är en personuppgiftsincident."),
        ("en", "I think there has been a data breach: my password was leaked on a forum."),
        ("en", "Your newsletter was sent with all recipients in CC, so my address was exposed to hundreds of people. I could see other customers' email addresses."),
        ("de", "Es gab eine Datenpanne, mein Konto wurde gehackt."),
        ("fr", "Je pense qu'il y a eu une fuite de données chez vous."),
    ],
)
def test_breach_reported(clf: RuleClassifier, lang: str, body: str) -> None:
    verdict = run(clf, body, language=lang)
    assert verdict.breach_reported, verdict.reasons
    assert any(" breach: " in r or "breach reported" in r for r in verdict.reasons)


def test_disclosure_to_another_customer_is_a_breach(clf: RuleClassifier) -> None:
    body = "You disclosed my address to another customer. I will be taking it further."
    verdict = run(clf, body, language="en")
    assert verdict.breach_reported and verdict.label is Intent.COMPLAINT


@pytest.mark.parametrize(
    "body",
    [
        "Please delete my account.",
        "Ni bryter mot GDPR, det är ett lagbrott.",
        "My pipe has a leak, can you recommend a plumber?",
        "Jag har en fråga om hur man läcker information i ett spel.",
    ],
)
def test_no_breach_without_breach_words(clf: RuleClassifier, body: str) -> None:
    assert not run(clf, body).breach_reported


def test_breach_with_erasure_keeps_both(clf: RuleClassifier) -> None:
    verdict = run(clf, "My data was leaked in your data breach. Delete my account now.", language="en")
    assert verdict.breach_reported and verdict.label is Intent.ERASURE


@pytest.mark.parametrize(
    "body",
    ["unsubscribe", "Unsubscribe", "STOP", "Avregistrera", "avsluta", "abmelden", "désinscrire",
     "baja", "afmelden", "disiscrivimi", "wypisz", "Unsubscribe please", "Avregistrera, tack!",
     "stop.", "afmeld", "peruuta"],
)
def test_oneword_unsubscribe(clf: RuleClassifier, body: str) -> None:
    verdict = run(clf, body)
    assert verdict.label is Intent.UNSUBSCRIBE and verdict.confidence >= 0.9, verdict


def test_oneword_unsubscribe_from_subject_when_body_empty(clf: RuleClassifier) -> None:
    assert run(clf, "", "Unsubscribe").label is Intent.UNSUBSCRIBE


def test_oneword_needs_the_whole_body(clf: RuleClassifier) -> None:
    verdict = run(clf, "Stop the bus, I need to get off at the next station please.", language="en")
    assert verdict.label is not Intent.UNSUBSCRIBE or verdict.confidence < 0.9


def test_reference_in_subject_is_a_follow_up_hint(clf: RuleClassifier) -> None:
    verdict = run(clf, "Har ni raderat mina uppgifter nu?", "Sv: Din begäran PRIV-2026-000123", "sv")
    assert "reference in subject: PRIV-2026-000123" in verdict.reasons
    assert find_reference("Re: [PRIV-2026-000123]") == "PRIV-2026-000123"
    assert find_reference("Order 2026-000123") is None


def test_automated_mail_is_auto_reply(clf: RuleClassifier) -> None:
    verdict = run(clf, "I am away until Monday.", "Automatic reply: Delete my data", "en",
                  headers=(("auto-submitted", "auto-replied"),))
    assert verdict.label is Intent.AUTO_REPLY and verdict.automated
    assert verdict.confidence >= 0.95 and not verdict.needs_review
    assert verdict.reasons[0] == "auto-submitted: auto-replied"


def test_subject_only_automated_is_less_certain(clf: RuleClassifier) -> None:
    verdict = run(clf, "Jag är ledig till och med 20 mars.", "Frånvaro: Din begäran", "sv")
    assert verdict.automated and verdict.confidence == 0.85
    assert verdict.reasons == ("out-of-office subject (frånvaro)",)


def test_undetected_language_tries_every_lexicon(clf: RuleClassifier) -> None:
    verdict = run(clf, "Bitte löschen Sie meine Daten.", language="und")
    assert verdict.label is Intent.ERASURE and verdict.language == "de"


def test_wrongly_detected_language_falls_back(clf: RuleClassifier) -> None:
    verdict = run(clf, "Please delete my account.", language="sv")
    assert verdict.label is Intent.ERASURE and verdict.language == "sv"


def test_batch_keeps_order(clf: RuleClassifier) -> None:
    msgs = [make_inbound("Radera mina uppgifter", language="sv"), make_inbound("unsubscribe")]
    assert [v.label for v in clf.classify(msgs)] == [Intent.ERASURE, Intent.UNSUBSCRIBE]


def test_every_lexicon_loads_with_core_sections() -> None:
    lexicons = load_lexicons(LEXICON_DIR)
    assert set(lexicons) >= {"sv", "en", "de", "fr", "es", "it", "nl", "da", "no", "fi", "pl", "pt"}
    for lex in lexicons.values():
        sections = {p.section for p in lex.phrases}
        assert sections >= {"erasure", "access", "unsubscribe", "complaint", "breach"}, lex.language
        assert lex.oneword and lex.negation is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('language = "xx"\n', "xx.toml: [language] must be 'xx'"),
        ('language = "en"\n[erasure]\nstrong = ["(unclosed"]\n', "[erasure.strong] bad regular expression"),
        ('language = "en"\n[erasure]\nloud = ["x"]\n', "[erasure.loud] unknown tier"),
        ('language = "en"\n[wishes]\nstrong = ["x"]\n', "[wishes] unknown section"),
        ('language = "en"\n[erasure]\nstrong = "x"\n', "[erasure.strong] expected a list"),
        ('language = "en"\n[erasure]\nstrong = [{ pattern = "x", weight = 2 }]\n', "[erasure.strong[0]] weight"),
        ('language = "en"\n[negation]\ncues = [1]\n', "[negation.cues] expected a list of strings"),
        ('language = "en"\n[erasure\n', "en.toml: cannot read"),
    ],
)
def test_lexicon_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    name = "xx.toml" if message.startswith("xx") else "en.toml"
    path = tmp_path / name
    path.write_text(text.replace('"xx"', '"yy"'), encoding="utf-8")
    with pytest.raises(LexiconError) as info:
        load_lexicon(path)
    assert message in str(info.value)


def test_inline_weight_is_used(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text(
        'language = "en"\n[erasure]\nstrong = [{ pattern = "zap my data", weight = 0.7 }]\n', encoding="utf-8"
    )
    verdict = RuleClassifier(tmp_path).classify([make_inbound("Please zap my data.")])[0]
    assert verdict.label is Intent.ERASURE and verdict.confidence == 0.7


def test_empty_lexicon_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError):
        RuleClassifier(tmp_path)
