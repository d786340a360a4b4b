// Strings of the chat widget. French is the default; English with ?lang=en.
// Values are plain text (always rendered with textContent); {name} is replaced.

const STRINGS = {
  fr: {
    docTitle: "causerie — discussion privée",
    title: "Et toi, tu en penses quoi ?",
    intro: "Discute en tête-à-tête avec un·e autre lecteur·ice de cet article. "
      + "C'est anonyme et privé, et rien n'est conservé.",
    start: "Viens on en parle !",
    waiting: "On te cherche un·e partenaire…",
    countsNone: "Personne d'autre pour l'instant : reste un peu, d'autres lecteurs arrivent.",
    countsChatting: ["{n} lecteur discute de cet article", "{n} lecteurs discutent de cet article"],
    countsWaiting: ["{n} autre lecteur attend", "{n} autres lecteurs attendent"],
    cancel: "Annuler",
    chattingWith: "Tu discutes avec {partner}",
    you: "Toi",
    messageLabel: "Ton message",
    placeholder: "Écris ton message…",
    hint: "Entrée pour envoyer, Maj+Entrée pour aller à la ligne",
    send: "Envoyer",
    next: "Partenaire suivant",
    leave: "Quitter",
    restart: "Retour au début",
    typing: "{partner} écrit…",
    away: "{partner} se reconnecte…",
    back: "{partner} est de retour",
    left: "{partner} a quitté la conversation.",
    leftVanished: "{partner} a perdu la connexion et a quitté la conversation.",
    matchedNotice: "Tu es en conversation avec {partner}. Dis bonjour !",
    pending: "envoi…",
    sent: "envoyé",
    refused: "non envoyé",
    reconnecting: "Reconnexion…",
    reconnected: "Reconnecté·e",
    resumeFailed: "La conversation n'a pas pu être reprise. Tu peux en commencer une nouvelle.",
    replaced: "Cette conversation s'est rouverte dans une autre fenêtre.",
    connectionRefused: "Connexion refusée par le serveur.",
    privacy: "Pseudonymes tirés au hasard · rien n'est enregistré",
    rulesTitle: "Avant de discuter",
    rule1: "Sois respectueux·se, même quand tu n'es pas d'accord.",
    rule2: "Pas d'insultes, de harcèlement, de menaces ni de propos haineux.",
    rule3: "Pas de sollicitation sexuelle.",
    rule4: "Ne partage jamais de données personnelles (téléphone, adresse…).",
    rule5: "Tu peux quitter à tout moment. C'est anonyme et rien n'est conservé.",
    rulesAccept: "J'ai 18 ans ou plus et j'accepte ces règles",
    rulesStart: "Commencer",
    rulesDecline: "Non merci",
    rulesDeclined: "Pas de souci. Cette discussion est réservée aux adultes qui acceptent ses règles.",
    block: "Bloquer",
    report: "Signaler",
    blockTitle: "Bloquer cette personne ?",
    blockText: "Vous ne serez plus mis·e en relation avec cette personne pendant {days} jours. "
      + "La conversation s'arrête.",
    blockTextEnded: "Vous ne serez plus mis·e en relation avec cette personne pendant {days} jours.",
    blockConfirm: "Oui, bloquer",
    blocked: "Personne bloquée.",
    conversationEnded: "Conversation terminée.",
    reportTitle: "Signaler cette personne",
    reportReason: "Motif du signalement",
    reasonInsult: "Insultes",
    reasonHarassment: "Harcèlement",
    reasonThreat: "Menaces",
    reasonHate: "Haine / discrimination",
    reasonSexual: "Sollicitation sexuelle",
    reasonSpam: "Spam / publicité",
    reasonOther: "Autre",
    reportNote: "Précisions (facultatif)",
    transcriptTitle: "Messages transmis",
    transcriptIntro: "Ces messages, tirés de votre appareil, seront transmis à la modération. "
      + "Rien d'autre de la conversation n'est conservé.",
    transcriptMe: "Vous",
    transcriptPartner: "Partenaire",
    transcriptEmpty: "Aucun message dans cette conversation.",
    transcriptDropped: [
      "Le message le plus ancien ne sera pas transmis (taille limitée).",
      "Les {n} messages les plus anciens ne seront pas transmis (taille limitée).",
    ],
    reportAlsoBlock: "Bloquer aussi cette personne",
    reportSend: "Envoyer le signalement",
    reportThanks: "Merci. La modération va examiner votre signalement.",
    reportNoReason: "Choisissez un motif.",
    notConnected: "La connexion est interrompue : réessayez dans un instant.",
  },
  en: {
    docTitle: "causerie — private chat",
    title: "What do you make of it?",
    intro: "Chat one-to-one with another reader of this article. "
      + "It is anonymous and private, and nothing is kept.",
    start: "Let's talk about it!",
    waiting: "Looking for someone to talk to…",
    countsNone: "Nobody else yet: stay a moment, other readers are coming.",
    countsChatting: ["{n} reader is talking about this article", "{n} readers are talking about this article"],
    countsWaiting: ["{n} other reader is waiting", "{n} other readers are waiting"],
    cancel: "Cancel",
    chattingWith: "You are talking with {partner}",
    you: "You",
    messageLabel: "Your message",
    placeholder: "Write your message…",
    hint: "Enter to send, Shift+Enter for a new line",
    send: "Send",
    next: "Next partner",
    leave: "Leave",
    restart: "Back to start",
    typing: "{partner} is typing…",
    away: "{partner} is reconnecting…",
    back: "{partner} is back",
    left: "{partner} left the conversation.",
    leftVanished: "{partner} lost their connection and left the conversation.",
    matchedNotice: "You are now talking with {partner}. Say hello!",
    pending: "sending…",
    sent: "sent",
    refused: "not sent",
    reconnecting: "Reconnecting…",
    reconnected: "Reconnected",
    resumeFailed: "The conversation could not be resumed. You can start a new one.",
    replaced: "This conversation was reopened in another window.",
    connectionRefused: "The server refused the connection.",
    privacy: "Random pseudonyms · nothing is recorded",
    rulesTitle: "Before you chat",
    rule1: "Be respectful, even when you disagree.",
    rule2: "No insults, harassment, threats or hate.",
    rule3: "No sexual solicitation.",
    rule4: "Never share personal data (phone number, address…).",
    rule5: "You can leave at any time. It is anonymous and nothing is kept.",
    rulesAccept: "I am 18 or older and accept these rules",
    rulesStart: "Start",
    rulesDecline: "No thanks",
    rulesDeclined: "No problem. This chat is only for adults who accept its rules.",
    block: "Block",
    report: "Report",
    blockTitle: "Block this person?",
    blockText: "You will not be paired with this person again for {days} days. "
      + "The conversation ends.",
    blockTextEnded: "You will not be paired with this person again for {days} days.",
    blockConfirm: "Yes, block",
    blocked: "Person blocked.",
    conversationEnded: "Conversation ended.",
    reportTitle: "Report this person",
    reportReason: "Reason for the report",
    reasonInsult: "Insults",
    reasonHarassment: "Harassment",
    reasonThreat: "Threats",
    reasonHate: "Hate / discrimination",
    reasonSexual: "Sexual solicitation",
    reasonSpam: "Spam / advertising",
    reasonOther: "Other",
    reportNote: "Details (optional)",
    transcriptTitle: "Messages sent",
    transcriptIntro: "These messages, taken from your device, will be sent to the moderators. "
      + "Nothing else from the conversation is kept.",
    transcriptMe: "You",
    transcriptPartner: "Partner",
    transcriptEmpty: "No messages in this conversation.",
    transcriptDropped: [
      "The oldest message will not be sent (size limit).",
      "The {n} oldest messages will not be sent (size limit).",
    ],
    reportAlsoBlock: "Also block this person",
    reportSend: "Send the report",
    reportThanks: "Thank you. The moderators will review your report.",
    reportNoReason: "Choose a reason.",
    notConnected: "The connection is interrupted: try again in a moment.",
  },
};

export function pickLang(value) {
  return value === "en" ? "en" : "fr";
}

/** Returns t(key, vars): the string for key, with {name} replaced from vars.
 *  For [singular, plural] entries, vars.n chooses the form. */
export function translator(lang) {
  return makeTranslator(STRINGS, lang);
}

/** The same for another widget's tables ({fr: {...}, en: {...}}). The plural
 *  form follows the language's rules (French: 0 and 1 are singular). */
export function makeTranslator(tables, lang) {
  const code = pickLang(lang);
  const table = tables[code];
  const plurals = new Intl.PluralRules(code);
  return (key, vars = {}) => {
    let value = table[key] ?? tables.fr[key] ?? key;
    if (Array.isArray(value)) value = value[plurals.select(Number(vars.n)) === "one" ? 0 : 1];
    return value.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  };
}
