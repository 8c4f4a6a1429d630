"""Invented multilingual privacy-mailbox text for benchmarking the encoder.

``REQUESTS`` holds one short request per intent in twelve languages, written
as parallel sentences: the cross-lingual check asks whether each non-English
sentence is nearest to its own English twin. ``email_texts`` glues a subject,
a greeting, one request and filler sentences into 40-150 word messages, which is
what the encoder sees in production (subject + the first lines of new text).
All names and numbers are made up.
"""

from __future__ import annotations

import random

LANGS = ("en", "sv", "de", "fr", "es", "it", "nl", "da", "no", "fi", "pl", "pt")

REQUESTS: dict[str, dict[str, str]] = {
    "erasure": {
        "en": "Please delete all personal data you hold about me.",
        "sv": "Radera alla personuppgifter ni har om mig.",
        "de": "Bitte löschen Sie alle personenbezogenen Daten, die Sie über mich gespeichert haben.",
        "fr": "Veuillez supprimer toutes les données personnelles que vous détenez sur moi.",
        "es": "Por favor, borren todos los datos personales que tienen sobre mí.",
        "it": "Vi chiedo di cancellare tutti i dati personali che avete su di me.",
        "nl": "Verwijder alstublieft alle persoonsgegevens die u over mij bewaart.",
        "da": "Slet venligst alle personoplysninger, I har om mig.",
        "no": "Vennligst slett alle personopplysninger dere har om meg.",
        "fi": "Poistakaa kaikki minua koskevat henkilötiedot.",
        "pl": "Proszę usunąć wszystkie moje dane osobowe, które posiadacie.",
        "pt": "Por favor, apaguem todos os dados pessoais que têm sobre mim.",
    },
    "access": {
        "en": "I want a copy of the personal data you have stored about me.",
        "sv": "Jag vill ha en kopia av de personuppgifter ni har sparat om mig.",
        "de": "Ich möchte eine Kopie der Daten, die Sie über mich gespeichert haben.",
        "fr": "Je voudrais une copie des données que vous avez enregistrées à mon sujet.",
        "es": "Quiero una copia de los datos personales que han guardado sobre mí.",
        "it": "Vorrei una copia dei dati personali che avete registrato su di me.",
        "nl": "Ik wil een kopie van de persoonsgegevens die u over mij heeft opgeslagen.",
        "da": "Jeg vil gerne have en kopi af de oplysninger, I har gemt om mig.",
        "no": "Jeg ønsker en kopi av opplysningene dere har lagret om meg.",
        "fi": "Haluan kopion minusta tallennetuista henkilötiedoista.",
        "pl": "Chcę otrzymać kopię danych osobowych, które o mnie przechowujecie.",
        "pt": "Quero uma cópia dos dados pessoais que guardaram sobre mim.",
    },
    "rectification": {
        "en": "My address in your records is wrong, please correct it.",
        "sv": "Min adress i ert register är fel, var snäll och rätta den.",
        "de": "Meine Adresse in Ihren Unterlagen ist falsch, bitte korrigieren Sie sie.",
        "fr": "Mon adresse dans vos fichiers est erronée, merci de la corriger.",
        "es": "Mi dirección en sus registros es incorrecta, por favor corríjanla.",
        "it": "Il mio indirizzo nei vostri archivi è sbagliato, per favore correggetelo.",
        "nl": "Mijn adres in uw administratie klopt niet, wilt u het corrigeren?",
        "da": "Min adresse i jeres system er forkert, ret den venligst.",
        "no": "Adressen min i registeret deres er feil, vennligst rett den.",
        "fi": "Osoitteeni rekisterissänne on väärin, korjatkaa se.",
        "pl": "Mój adres w waszej bazie jest błędny, proszę go poprawić.",
        "pt": "A minha morada nos vossos registos está errada, por favor corrijam-na.",
    },
    "unsubscribe": {
        "en": "Stop sending me your newsletter, I want to unsubscribe.",
        "sv": "Sluta skicka ert nyhetsbrev till mig, jag vill avregistrera mig.",
        "de": "Hören Sie auf, mir Ihren Newsletter zu schicken, ich möchte mich abmelden.",
        "fr": "Arrêtez de m'envoyer votre newsletter, je veux me désabonner.",
        "es": "Dejen de enviarme su boletín, quiero darme de baja.",
        "it": "Smettete di inviarmi la vostra newsletter, voglio disiscrivermi.",
        "nl": "Stop met het sturen van uw nieuwsbrief, ik wil me afmelden.",
        "da": "Stop med at sende mig jeres nyhedsbrev, jeg vil afmelde mig.",
        "no": "Slutt å sende meg nyhetsbrevet deres, jeg vil melde meg av.",
        "fi": "Lopettakaa uutiskirjeen lähettäminen minulle, haluan perua tilauksen.",
        "pl": "Przestańcie wysyłać mi newsletter, chcę się wypisać.",
        "pt": "Deixem de me enviar a vossa newsletter, quero cancelar a subscrição.",
    },
    "objection": {
        "en": "I object to you using my data for marketing and profiling.",
        "sv": "Jag invänder mot att ni använder mina uppgifter för marknadsföring och profilering.",
        "de": "Ich widerspreche der Nutzung meiner Daten für Werbung und Profiling.",
        "fr": "Je m'oppose à l'utilisation de mes données pour le marketing et le profilage.",
        "es": "Me opongo a que usen mis datos para marketing y elaboración de perfiles.",
        "it": "Mi oppongo all'uso dei miei dati per marketing e profilazione.",
        "nl": "Ik maak bezwaar tegen het gebruik van mijn gegevens voor marketing en profilering.",
        "da": "Jeg gør indsigelse mod, at I bruger mine oplysninger til markedsføring og profilering.",
        "no": "Jeg protesterer mot at dere bruker opplysningene mine til markedsføring og profilering.",
        "fi": "Vastustan tietojeni käyttöä markkinointiin ja profilointiin.",
        "pl": "Sprzeciwiam się wykorzystywaniu moich danych do marketingu i profilowania.",
        "pt": "Oponho-me à utilização dos meus dados para marketing e definição de perfis.",
    },
    "complaint": {
        "en": "I am unhappy with how you handled my request and will complain to the authority.",
        "sv": "Jag är missnöjd med hur ni hanterade min begäran och kommer att klaga hos myndigheten.",
        "de": "Ich bin unzufrieden mit der Bearbeitung meiner Anfrage und werde mich bei der Behörde beschweren.",
        "fr": "Je suis mécontent du traitement de ma demande et je vais porter plainte auprès de l'autorité.",
        "es": "No estoy satisfecho con cómo gestionaron mi solicitud y presentaré una queja ante la autoridad.",
        "it": "Non sono soddisfatto di come avete gestito la mia richiesta e farò reclamo all'autorità.",
        "nl": "Ik ben ontevreden over de afhandeling van mijn verzoek en dien een klacht in bij de toezichthouder.",
        "da": "Jeg er utilfreds med jeres behandling af min anmodning og vil klage til myndigheden.",
        "no": "Jeg er misfornøyd med hvordan dere behandlet forespørselen min og vil klage til tilsynet.",
        "fi": "Olen tyytymätön pyyntöni käsittelyyn ja teen valituksen viranomaiselle.",
        "pl": "Jestem niezadowolony z obsługi mojego wniosku i złożę skargę do urzędu.",
        "pt": "Estou insatisfeito com o tratamento do meu pedido e vou apresentar queixa à autoridade.",
    },
}

SUBJECTS = {
    "en": "Request about my data", "sv": "Begäran om mina uppgifter", "de": "Anfrage zu meinen Daten",
    "fr": "Demande concernant mes données", "es": "Solicitud sobre mis datos", "it": "Richiesta sui miei dati",
    "nl": "Verzoek over mijn gegevens", "da": "Anmodning om mine oplysninger", "no": "Forespørsel om mine opplysninger",
    "fi": "Pyyntö tiedoistani", "pl": "Wniosek dotyczący moich danych", "pt": "Pedido sobre os meus dados",
}  # fmt: skip

GREETINGS = {
    "en": "Hello,", "sv": "Hej,", "de": "Guten Tag,", "fr": "Bonjour,", "es": "Hola,", "it": "Buongiorno,",
    "nl": "Beste,", "da": "Hej,", "no": "Hei,", "fi": "Hei,", "pl": "Dzień dobry,", "pt": "Olá,",
}  # fmt: skip

# Context sentences of the kind people add around a request; {n} is a number.
FILLER: dict[str, list[str]] = {
    "en": ["I was a customer of yours until last spring.", "My customer number is {n}.",
           "I have written to you before without getting an answer.", "Please confirm by email when this is done.",
           "I also received a text message from you last week that I never asked for.",
           "The account was registered with this email address.", "Thank you in advance for your help."],
    "sv": ["Jag var kund hos er fram till i våras.", "Mitt kundnummer är {n}.",
           "Jag har skrivit till er tidigare utan att få svar.", "Bekräfta gärna via e-post när det är gjort.",
           "Jag fick också ett sms från er förra veckan som jag aldrig bett om.",
           "Kontot registrerades med den här e-postadressen.", "Tack på förhand för hjälpen."],
    "de": ["Ich war bis zum letzten Frühjahr Ihr Kunde.", "Meine Kundennummer lautet {n}.",
           "Ich habe Ihnen bereits geschrieben, aber keine Antwort erhalten.",
           "Bitte bestätigen Sie mir per E-Mail, wenn dies erledigt ist.",
           "Letzte Woche habe ich außerdem eine SMS von Ihnen bekommen, die ich nie angefordert habe.",
           "Das Konto wurde mit dieser E-Mail-Adresse registriert.", "Vielen Dank im Voraus für Ihre Hilfe."],
    "fr": ["J'étais votre client jusqu'au printemps dernier.", "Mon numéro de client est {n}.",
           "Je vous ai déjà écrit sans obtenir de réponse.", "Merci de me confirmer par e-mail une fois que c'est fait.",
           "J'ai aussi reçu de votre part un SMS la semaine dernière que je n'avais jamais demandé.",
           "Le compte a été créé avec cette adresse e-mail.", "Merci d'avance pour votre aide."],
    "es": ["Fui cliente suyo hasta la primavera pasada.", "Mi número de cliente es {n}.",
           "Ya les escribí antes sin recibir respuesta.", "Confírmenme por correo electrónico cuando esté hecho.",
           "La semana pasada también recibí un SMS suyo que nunca pedí.",
           "La cuenta se registró con esta dirección de correo.", "Gracias de antemano por su ayuda."],
    "it": ["Sono stato vostro cliente fino alla primavera scorsa.", "Il mio numero cliente è {n}.",
           "Vi ho già scritto senza ricevere risposta.", "Confermatemi per email quando è stato fatto.",
           "La settimana scorsa ho anche ricevuto da voi un SMS che non ho mai richiesto.",
           "L'account è stato registrato con questo indirizzo email.", "Grazie in anticipo per l'aiuto."],
    "nl": ["Ik was tot afgelopen voorjaar klant bij u.", "Mijn klantnummer is {n}.",
           "Ik heb u eerder geschreven zonder antwoord te krijgen.", "Bevestig alstublieft per e-mail wanneer dit gedaan is.",
           "Vorige week kreeg ik ook een sms van u waar ik nooit om gevraagd heb.",
           "Het account is geregistreerd met dit e-mailadres.", "Alvast bedankt voor uw hulp."],
    "da": ["Jeg var kunde hos jer indtil sidste forår.", "Mit kundenummer er {n}.",
           "Jeg har skrevet til jer før uden at få svar.", "Bekræft venligst på e-mail, når det er gjort.",
           "Jeg fik også en sms fra jer i sidste uge, som jeg aldrig har bedt om.",
           "Kontoen blev oprettet med denne e-mailadresse.", "Tak på forhånd for hjælpen."],
    "no": ["Jeg var kunde hos dere fram til i fjor vår.", "Kundenummeret mitt er {n}.",
           "Jeg har skrevet til dere før uten å få svar.", "Bekreft gjerne på e-post når det er gjort.",
           "Jeg fikk også en SMS fra dere forrige uke som jeg aldri har bedt om.",
           "Kontoen ble registrert med denne e-postadressen.", "Takk på forhånd for hjelpen."],
    "fi": ["Olin asiakkaananne viime kevääseen asti.", "Asiakasnumeroni on {n}.",
           "Olen kirjoittanut teille aiemmin saamatta vastausta.", "Vahvistakaa sähköpostilla, kun asia on hoidettu.",
           "Sain teiltä myös viime viikolla tekstiviestin, jota en ole koskaan pyytänyt.",
           "Tili on rekisteröity tällä sähköpostiosoitteella.", "Kiitos etukäteen avusta."],
    "pl": ["Byłem waszym klientem do zeszłej wiosny.", "Mój numer klienta to {n}.",
           "Pisałem już do was wcześniej, ale nie dostałem odpowiedzi.", "Proszę potwierdzić mailowo, gdy to zrobicie.",
           "W zeszłym tygodniu dostałem też od was SMS, o który nigdy nie prosiłem.",
           "Konto zostało zarejestrowane na ten adres e-mail.", "Z góry dziękuję za pomoc."],
    "pt": ["Fui vosso cliente até à primavera passada.", "O meu número de cliente é {n}.",
           "Já vos escrevi antes sem obter resposta.", "Confirmem por email quando estiver feito.",
           "Na semana passada também recebi um SMS vosso que nunca pedi.",
           "A conta foi registada com este endereço de email.", "Obrigado desde já pela ajuda."],
}  # fmt: skip

NAMES = ("Alex Berg", "Maja Lind", "Jonas Keller", "Claire Dubois", "Lucía Ortega", "Marco Rossi",
         "Sanne de Vries", "Freja Holm", "Ola Nordby", "Aino Virtanen", "Ewa Nowak", "Rui Costa")  # fmt: skip


def email_texts(n: int = 300, seed: int = 7) -> list[str]:
    """``n`` invented messages of 40-150 words (language mix weighted towards
    Swedish and English, like the mailbox), deterministic for a seed."""
    rng = random.Random(seed)
    weights = [4 if lang in ("sv", "en") else 1 for lang in LANGS]
    out = []
    for _ in range(n):
        lang = rng.choices(LANGS, weights)[0]
        intent = rng.choice(sorted(REQUESTS))
        target = rng.randint(40, 150)
        words = [SUBJECTS[lang] + "\n", GREETINGS[lang], REQUESTS[intent][lang]]
        while sum(len(w.split()) for w in words) < target:
            words.append(rng.choice(FILLER[lang]).format(n=rng.randint(10_000, 999_999)))
        words.append(rng.choice(NAMES))
        out.append(" ".join(words))
    return out
