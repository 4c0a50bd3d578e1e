"""What an application does with the containers, done with Microsoft's Speech SDK (azure-cognitiveservices-speech).

    speech_client.py recognize  ws://HOST:PORT  --locale en-US  AUDIO.wav|AUDIO.mp3   RecognizedSpeech and its text
    speech_client.py synthesize http://HOST:PORT --voice en-US-AriaNeural --out FILE.wav --text "..."
    speech_client.py detect     http://HOST:PORT --languages en-US,de-DE AUDIO.wav  the detected language
    speech_client.py tone FILE.wav [SECONDS]                                         speech-like test audio (a tone between silences)
    speech_client.py stream wss://GW:PORT AUDIO.wav --until STOPFILE [--key K --ca CA.crt]   recognitions one after another until
                                                                                      STOPFILE exists: counts, failures, slowest
    speech_client.py latency URL AUDIO.wav -n 200 [--key K --ca CA.crt]               p50 and p95 of n recognitions

Through the onprem.speech gateway, --key is the client key (sent as Ocp-Apim-Subscription-Key, as
SpeechConfig(host=..., subscription=KEY) does) and --ca the CA that signed the gateway's certificate.

Each command prints one JSON line ({"ok": ..., "reason": ..., "text": ..., ...}) and exits 0 when the SDK got what an
application needs. An MP3 (or any compressed file) is streamed to the SDK as compressed input, which the SDK decodes with
GStreamer (the gstreamer role's job on the hosts where applications run). Containers take no key; a gateway does.

This is a test and demo tool of onprem.speech, not part of the collection.
"""

import argparse
import json
import math
import struct
import sys
import threading
import time
import wave

try:
    import azure.cognitiveservices.speech as speechsdk
except (ImportError, OSError) as error:  # the SDK's native library needs OpenSSL and ALSA's libasound
    print(json.dumps({"ok": False, "reason": "the Speech SDK cannot be imported: %s" % error}))
    sys.exit(2)


def timed(function, timeout):
    box = {}

    def target():
        try:
            box["value"] = function()
        except Exception as error:  # noqa: BLE001  (reported as the result)
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return None, "the Speech SDK did not answer within %d s" % timeout, time.monotonic() - started
    if "error" in box:
        return None, "%s: %s" % (type(box["error"]).__name__, box["error"]), time.monotonic() - started
    return box["value"], None, time.monotonic() - started


def cancellation(result):
    details = getattr(result, "cancellation_details", None)
    if details is None:
        return ""
    return "%s %s" % (getattr(details, "reason", ""), getattr(details, "error_details", "") or "")


def compressed_stream(path):
    """A push stream of a compressed file (the SDK decodes it with GStreamer)."""
    stream_format = speechsdk.audio.AudioStreamFormat(compressed_stream_format=speechsdk.AudioStreamContainerFormat.ANY)
    stream = speechsdk.audio.PushAudioInputStream(stream_format)
    with open(path, "rb") as handle:
        stream.write(handle.read())
    stream.close()
    return speechsdk.audio.AudioConfig(stream=stream)


def audio_config(path):
    if path.lower().endswith(".wav"):
        return speechsdk.audio.AudioConfig(filename=path)
    return compressed_stream(path)


def speech_config(args):
    """SpeechConfig(host=...), with the client key and the gateway's CA when given."""
    if getattr(args, "key", None):
        config = speechsdk.SpeechConfig(host=args.url, subscription=args.key)
    else:
        config = speechsdk.SpeechConfig(host=args.url)
    if getattr(args, "ca", None):
        with open(args.ca) as handle:
            config.set_property_by_name("OPENSSL_SINGLE_TRUSTED_CERT", handle.read())
        config.set_property_by_name("OPENSSL_SINGLE_TRUSTED_CERT_CRL_CHECK", "false")
    return config


def recognize(args):
    config = speech_config(args)
    config.speech_recognition_language = args.locale
    recognizer = speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio_config(args.audio))
    result, error, seconds = timed(lambda: recognizer.recognize_once_async().get(), args.timeout)
    if error:
        return {"ok": False, "reason": error, "seconds": round(seconds, 2)}
    ok = result.reason == speechsdk.ResultReason.RecognizedSpeech and bool(result.text.strip())
    return {"ok": ok, "reason": str(result.reason), "text": result.text, "details": cancellation(result), "seconds": round(seconds, 2)}


def synthesize(args):
    config = speech_config(args)
    config.speech_synthesis_voice_name = args.voice
    output = speechsdk.audio.AudioOutputConfig(filename=args.out)
    synthesizer = speechsdk.SpeechSynthesizer(speech_config=config, audio_config=output)
    result, error, seconds = timed(lambda: synthesizer.speak_text_async(args.text).get(), args.timeout)
    if error:
        return {"ok": False, "reason": error, "seconds": round(seconds, 2)}
    ok = result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted and len(result.audio_data) > 6400
    return {"ok": ok, "reason": str(result.reason), "bytes": len(result.audio_data), "file": args.out, "details": cancellation(result),
            "seconds": round(seconds, 2)}


def detect(args):
    config = speech_config(args)
    languages = speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=args.languages.split(","))
    recognizer = speechsdk.SourceLanguageRecognizer(speech_config=config, auto_detect_source_language_config=languages,
                                                    audio_config=audio_config(args.audio))
    result, error, seconds = timed(recognizer.recognize_once, args.timeout)
    if error:
        return {"ok": False, "reason": error, "seconds": round(seconds, 2)}
    language = speechsdk.AutoDetectSourceLanguageResult(result).language
    ok = result.reason == speechsdk.ResultReason.RecognizedSpeech and bool(language)
    return {"ok": ok, "reason": str(result.reason), "language": language, "details": cancellation(result), "seconds": round(seconds, 2)}


def percentile(values, share):
    ordered = sorted(values)
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(math.ceil(share * len(ordered))) - 1)], 3)


def stream(args):
    """Recognitions one after another until the stop file exists (or --count are done): what a busy application sees."""
    import os
    results, reasons = [], {}
    started = time.monotonic()
    while not os.path.exists(args.until) and (not args.count or len(results) < args.count):
        one = recognize(args)
        results.append(one)
        if not one.get("ok"):
            words = (one.get("reason") or "") + " " + (one.get("details") or "")
            reasons[words.strip()] = reasons.get(words.strip(), 0) + 1
        if time.monotonic() - started > args.limit:
            break
    seconds = [r["seconds"] for r in results if "seconds" in r]
    failed = sum(1 for r in results if not r.get("ok"))
    summary = {"ok": failed == 0 and len(results) > 0, "requests": len(results), "failed": failed, "reasons": reasons,
               "slowest": max(seconds) if seconds else None, "p50": percentile(seconds, 0.5), "p95": percentile(seconds, 0.95),
               "duration": round(time.monotonic() - started, 1)}
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(summary, handle)
    return summary


def latency(args):
    """p50 and p95 of n recognitions (after one that is not counted)."""
    recognize(args)
    seconds, failed = [], 0
    for _number in range(args.n):
        one = recognize(args)
        if one.get("ok"):
            seconds.append(one["seconds"])
        else:
            failed += 1
    return {"ok": failed == 0, "requests": args.n, "failed": failed, "p50": percentile(seconds, 0.5), "p95": percentile(seconds, 0.95),
            "mean": round(sum(seconds) / len(seconds), 3) if seconds else None}


def tone(args):
    """0.3 s of silence, a 440 Hz tone with a little noise, 0.3 s of silence: 16 kHz 16-bit mono."""
    rate = 16000
    frames = [0] * int(rate * 0.3)
    frames += [int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(rate * args.seconds))]
    frames += [0] * int(rate * 0.3)
    with wave.open(args.file, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack("<%dh" % len(frames), *frames))
    return {"ok": True, "file": args.file}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("recognize")
    rec.add_argument("url")
    rec.add_argument("audio")
    rec.add_argument("--locale", default="en-US")
    syn = commands.add_parser("synthesize")
    syn.add_argument("url")
    syn.add_argument("--voice", default="en-US-AriaNeural")
    syn.add_argument("--text", default="Hello from onprem speech.")
    syn.add_argument("--out", default="synthesized.wav")
    det = commands.add_parser("detect")
    det.add_argument("url")
    det.add_argument("audio")
    det.add_argument("--languages", default="en-US,de-DE")
    ton = commands.add_parser("tone")
    ton.add_argument("file")
    ton.add_argument("seconds", type=float, nargs="?", default=1.0)
    stm = commands.add_parser("stream")
    stm.add_argument("url")
    stm.add_argument("audio")
    stm.add_argument("--locale", default="en-US")
    stm.add_argument("--until", required=True, help="stop when this file exists")
    stm.add_argument("--count", type=int, default=0, help="stop after this many (0: no bound)")
    stm.add_argument("--limit", type=int, default=900, help="stop after this many seconds whatever happens")
    stm.add_argument("--out", help="write the summary here too")
    lat = commands.add_parser("latency")
    lat.add_argument("url")
    lat.add_argument("audio")
    lat.add_argument("--locale", default="en-US")
    lat.add_argument("-n", type=int, default=200)
    for sub in (rec, syn, det, stm, lat):
        sub.add_argument("--timeout", type=int, default=30)
        sub.add_argument("--key", help="the gateway's client key")
        sub.add_argument("--ca", help="the CA that signed the gateway's certificate (PEM)")
    args = parser.parse_args(argv)
    result = {"recognize": recognize, "synthesize": synthesize, "detect": detect, "tone": tone, "stream": stream,
              "latency": latency}[args.command](args)
    print(json.dumps(result))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
