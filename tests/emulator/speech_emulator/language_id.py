"""Language identification: the candidates a client offers and the language the emulator "detects".

The emulator does not listen to the audio. Sound is needed (silence gives no language), and the
detected language is chosen from the candidates: EMULATOR_DETECTED_LANGUAGE when it is one
of them (case-insensitive), else the container's own locale when it is one of them (stt,
custom_stt), else the first candidate. EMULATOR_DETECTED_LANGUAGE naming a language that
is not a candidate gives "Unknown" (as the service does for speech in another language)."""

import urllib.parse

UNKNOWN = "Unknown"
LID_PATHS = ("/speech/universal/v2", "/speech/languagedetection/cognitiveservices/v1")


def candidates(query, context):
    """The candidate languages: speech.context languageId.languages, else the lidEnabled query parameter."""
    language_id = context.get("languageId") if isinstance(context, dict) else None
    if isinstance(language_id, dict) and isinstance(language_id.get("languages"), list):
        found = [str(lang).strip() for lang in language_id["languages"] if str(lang).strip()]
        if found:
            return found
    values = urllib.parse.parse_qs(query or "").get("lidEnabled") or []
    return [lang.strip() for value in values for lang in value.split(",") if lang.strip()]


def requested(query, context):
    """Whether the client asked for language identification (languageId in speech.context or lidEnabled)."""
    has_context = isinstance(context, dict) and isinstance(context.get("languageId"), dict)
    return has_context or "lidEnabled" in urllib.parse.parse_qs(query or "")


def detect(offered, knob=None, own_locale=None):
    """The language to report, chosen from offered (see the module's docstring)."""
    by_lower = {lang.lower(): lang for lang in offered}
    if knob:
        return by_lower.get(knob.lower(), UNKNOWN)
    if own_locale and own_locale.lower() in by_lower:
        return by_lower[own_locale.lower()]
    return offered[0] if offered else UNKNOWN


def primary_language(language):
    """The PrimaryLanguage object of a phrase or hypothesis."""
    return {"Language": language, "Confidence": "Unknown" if language == UNKNOWN else "High"}
