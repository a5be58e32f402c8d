"""What the gateway's pages say, per language (lower-case tags: ``negotiate`` picks one).
``{shop}`` is the shop's name and ``{what}`` the channel's marketing, both escaped by the
page. A new language is one more entry with every key of English."""

from __future__ import annotations

from typing import Final

ENGLISH: Final = {
    "a_shop": "the shop",  # when the scenario file's brand section gives no name
    "what_email": "marketing emails",
    "what_sms": "marketing text messages",
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_ask": "Stop receiving {what} from {shop}?",
    "unsubscribe_button": "Unsubscribe",
    "unsubscribed_title": "You are unsubscribed",
    "unsubscribed": "You will no longer receive {what} from {shop}.",
    "still_transactional": "Messages about your orders (confirmations, deliveries) still "
    "reach you.",
    "preferences_title": "Your preferences",
    "preferences_ask": "Choose what you no longer want to receive from {shop}:",
    "family_reminders": "Reminders: your cart, products you looked at, price drops, items "
    "back in stock",
    "family_recommendations": "Recommendations: suggestions, review requests, birthday and "
    "welcome messages",
    "family_digests": "Digests: the daily or weekly summaries",
    "family_all": "All {what}",
    "short_reminders": "reminders",
    "short_recommendations": "recommendations",
    "short_digests": "digests",
    "preferences_button": "Save",
    "saved_title": "Saved",
    "saved_family": "You will no longer receive {family} from {shop}; its other messages "
    "still reach you.",
    "choose_one": "Choose one of the options.",
    "invalid_title": "This link is not valid",
    "invalid": "It may have been cut or changed. Use the link in the message as it is, or in "
    "a more recent message.",
    "expired_title": "This link is too old",
    "expired": "To unsubscribe or change your preferences, use the link in a more recent message.",
    "back_to_shop": "Go to {shop}",
    "contact_shop": "Or write to {support}.",
    "unavailable_title": "Please try again in a few minutes",
    "unavailable": "Nothing was saved: the service is busy. Your link still works.",
    "too_large": "The request is too large.",
}

FRENCH: Final = {
    "a_shop": "la boutique",
    "what_email": "e-mails promotionnels",
    "what_sms": "SMS promotionnels",
    "unsubscribe_title": "Désabonnement",
    "unsubscribe_ask": "Ne plus recevoir les {what} de {shop} ?",
    "unsubscribe_button": "Me désabonner",
    "unsubscribed_title": "Désabonnement enregistré",
    "unsubscribed": "Vous ne recevrez plus les {what} de {shop}.",
    "still_transactional": "Les messages sur vos commandes (confirmations, livraisons) vous "
    "parviennent toujours.",
    "preferences_title": "Vos préférences",
    "preferences_ask": "Choisissez ce que vous ne voulez plus recevoir de {shop} :",
    "family_reminders": "Les rappels : votre panier, les produits consultés, les baisses de "
    "prix, les retours en stock",
    "family_recommendations": "Les recommandations : suggestions, demandes d'avis, messages "
    "d'anniversaire et de bienvenue",
    "family_digests": "Les récapitulatifs quotidiens ou hebdomadaires",
    "family_all": "Tous les {what}",
    "short_reminders": "les rappels",
    "short_recommendations": "les recommandations",
    "short_digests": "les récapitulatifs",
    "preferences_button": "Enregistrer",
    "saved_title": "C'est enregistré",
    "saved_family": "Vous ne recevrez plus {family} de {shop} ; ses autres messages vous "
    "parviennent toujours.",
    "choose_one": "Choisissez l'une des options.",
    "invalid_title": "Ce lien n'est pas valide",
    "invalid": "Il a peut-être été coupé ou modifié. Utilisez le lien du message tel quel, "
    "ou celui d'un message plus récent.",
    "expired_title": "Ce lien est trop ancien",
    "expired": "Pour vous désabonner ou changer vos préférences, utilisez le lien d'un "
    "message plus récent.",
    "back_to_shop": "Aller sur {shop}",
    "contact_shop": "Ou écrivez à {support}.",
    "unavailable_title": "Réessayez dans quelques minutes",
    "unavailable": "Rien n'a été enregistré : le service est occupé. Votre lien reste valable.",
    "too_large": "La requête est trop volumineuse.",
}

TEXTS: Final[dict[str, dict[str, str]]] = {"en": ENGLISH, "fr": FRENCH}
