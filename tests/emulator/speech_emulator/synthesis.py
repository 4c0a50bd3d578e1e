"""Text to speech: SSML, output formats, and a synthesis turn over WebSocket.

Client: speech.config, synthesis.context (outputFormat, metadataOptions), ssml; the last two carry
the turn's X-RequestId. Service: turn.start, response (the audio stream id), binary audio
messages (X-StreamId), audio.metadata with SessionEnd when asked for, turn.end. The audio is a
tone whose length grows with the text (audio.make_wav), in the requested PCM format."""

import html
import re
import uuid

from . import audio, usp

# Output format name -> (sample rate, RIFF header?)
OUTPUT_FORMATS = {}
for _rate, _label in ((8000, "8khz"), (16000, "16khz"), (22050, "22050hz"), (24000, "24khz"), (44100, "44100hz"), (48000, "48khz")):
    OUTPUT_FORMATS["riff-%s-16bit-mono-pcm" % _label] = (_rate, True)
    OUTPUT_FORMATS["raw-%s-16bit-mono-pcm" % _label] = (_rate, False)
DEFAULT_OUTPUT_FORMAT = "riff-16khz-16bit-mono-pcm"  # REST without X-Microsoft-OutputFormat (emulator)
DEFAULT_WS_OUTPUT_FORMAT = "raw-16khz-16bit-mono-pcm"  # the Speech SDK's default
WS_PATHS = ("/cognitiveservices/websocket/v1", "/tts/cognitiveservices/websocket/v1")

# What a real NTTS container answers to another voice (close 1007; Microsoft Q&A 967245).
VOICE_MISMATCH = 'Status(StatusCode="FailedPrecondition", Detail="Voice does not match")'


def status(code, detail):
    """A close reason in the form the NTTS container uses (gRPC status)."""
    return 'Status(StatusCode="%s", Detail="%s")' % (code, detail.replace('"', "'"))


def voices(ssml):
    """The names of the <voice> elements of an SSML document."""
    return [m.group(2).strip() for m in re.finditer(r"<voice\b[^>]*?\bname\s*=\s*(['\"])(.*?)\1", ssml, re.S)]


def text_of(ssml):
    """The text to speak: the SSML without its tags, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", ssml)).split())


def audio_chunks(data, rate):
    """Audio messages of 100 ms."""
    step = max(2, rate // 10 * 2)
    return [data[i:i + step] for i in range(0, len(data), step)] or [b""]


class SynthesisTurn:
    """One synthesis turn; send_text(path, body) and send_binary(path, data, headers) carry its request id."""

    def __init__(self, send_text, send_binary, voice, failure=None, meter=None):
        self.send_text = send_text
        self.send_binary = send_binary
        self.voice = voice
        self.failure = failure
        self.meter = meter
        self.output_format = DEFAULT_WS_OUTPUT_FORMAT
        self.session_end = False
        self.done = False

    def context(self, body):
        """synthesis.context: the output format and the metadata asked for."""
        synthesis = body.get("synthesis") if isinstance(body.get("synthesis"), dict) else {}
        audio_options = synthesis.get("audio") if isinstance(synthesis.get("audio"), dict) else {}
        if audio_options.get("outputFormat"):
            self.output_format = str(audio_options["outputFormat"]).strip().lower()
        metadata = audio_options.get("metadataOptions") if isinstance(audio_options.get("metadataOptions"), dict) else {}
        self.session_end = bool(metadata.get("sessionEndEnabled"))

    def ssml(self, document):
        """Synthesise; raises usp.UspError (the close code and reason) when the container refuses."""
        if "<speak" not in document:
            raise usp.UspError(usp.INVALID_PAYLOAD, status("InvalidArgument", "The ssml message must be an SSML document (<speak>...</speak>)."))
        names = voices(document)
        if not names:
            raise usp.UspError(usp.INVALID_PAYLOAD, status("InvalidArgument", "The SSML must name a voice: <voice name='%s'>." % self.voice))
        if any(name.lower() != self.voice.lower() for name in names):
            raise usp.UspError(usp.INVALID_PAYLOAD, VOICE_MISMATCH)
        if self.output_format not in OUTPUT_FORMATS:
            raise usp.UspError(
                usp.INVALID_PAYLOAD,
                status("InvalidArgument", "Unsupported output format %s: this container sends 16-bit mono PCM (raw-* or riff-*)." % self.output_format),
            )
        tag = uuid.uuid4().hex
        self.send_text("turn.start", {"context": {"serviceTag": tag}})
        if self.failure == "close-1011":
            raise usp.UspError(1011, status("Internal", "Synthesis failed (emulator: EMULATOR_SYNTHESIS=close-1011)."))
        text = text_of(document)
        rate, riff = OUTPUT_FORMATS[self.output_format]
        data = audio.make_wav(rate, len(text), riff)
        stream = uuid.uuid4().hex.upper()
        self.send_text("response", {"context": {"serviceTag": tag}, "audio": {"type": "inline", "streamId": stream}})
        for chunk in audio_chunks(data, rate):
            self.send_binary("audio", chunk, {"X-StreamId": stream})
        if self.session_end:
            ticks = (len(data) - (44 if riff else 0)) // 2 * audio.TICKS_PER_SECOND // rate
            self.send_text("audio.metadata", {"Metadata": [{"Type": "SessionEnd", "Data": {"Offset": ticks}}]})
        self.send_text("turn.end", None)
        self.done = True
        if self.meter:
            self.meter(len(text))
