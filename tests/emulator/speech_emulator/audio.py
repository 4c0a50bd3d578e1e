"""PCM audio: the tone the synthesis sends, RIFF/WAVE headers, and the speech detector of the recognizer.

The emulator does no speech recognition. Its "recognizer" finds segments of sound in
16-bit PCM by RMS energy: a 20 ms window is *loud* when its RMS is at least
SPEECH_RMS (about -44 dBFS); a segment starts after MIN_SPEECH_MS of loud windows
and ends after a run of quiet windows as long as the segmentation silence."""

import math
import struct

SPEECH_RMS = 200
WINDOW_MS = 20
MIN_SPEECH_MS = 100
HYPOTHESIS_EVERY_MS = 300
TICKS_PER_SECOND = 10_000_000  # offsets and durations in the protocol are in units of 100 ns


def tone(rate, seconds, frequency=400.0, amplitude=9000):
    """Raw 16-bit mono PCM of a sine tone."""
    period = max(2, int(round(rate / frequency)))
    one = b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * i / period))) for i in range(period))
    samples = int(rate * seconds)
    return one * (samples // period) + one[: 2 * (samples % period)]


def wav_header(rate, data_length, channels=1, bits=16):
    """A 44-byte RIFF/WAVE header for PCM."""
    block = channels * bits // 8
    header = b"RIFF" + struct.pack("<I", 36 + data_length) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits)
    return header + b"data" + struct.pack("<I", data_length)


def speech_seconds(text_length):
    """How long the synthesised tone lasts: 0.3 s + 60 ms a character, at most 60 s."""
    return min(0.3 + 0.06 * text_length, 60.0)


def make_wav(rate, text_length, riff=True):
    """A 16-bit mono tone whose length grows with the text (0.3 s + 60 ms a character, at most 60 s)."""
    data = tone(rate, speech_seconds(text_length))
    return wav_header(rate, len(data)) + data if riff else data


class AudioFormatError(ValueError):
    """The first audio message of a turn does not carry a usable RIFF/WAVE PCM header."""


def parse_riff(data, rates=(8000, 16000)):
    """({"rate", "channels", "bits"}, the PCM after the header) of the first audio message of a turn.

    The Speech SDK sends a 44-byte header whose sizes may be 0 (a stream). The recognizer takes
    16-bit mono PCM at 16 kHz (or 8 kHz); anything else raises AudioFormatError."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError("the first audio message of a turn must start with a RIFF/WAVE header")
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        pos += 8
        if chunk == b"fmt ":
            if size < 16 or pos + 16 > len(data):
                raise AudioFormatError("the RIFF header has a truncated fmt chunk")
            code, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", data[pos:pos + 16])
            fmt = {"code": code, "channels": channels, "rate": rate, "bits": bits}
            pos += size + (size & 1)
        elif chunk == b"data":
            if fmt is None:
                raise AudioFormatError("the RIFF header has no fmt chunk before its data")
            if fmt["code"] not in (1, 0xFFFE):
                raise AudioFormatError("audio format %d is not PCM" % fmt["code"])
            if fmt["channels"] != 1 or fmt["bits"] != 16 or fmt["rate"] not in rates:
                raise AudioFormatError(
                    "unsupported audio: %d Hz, %d bit, %d channel(s); the recognizer takes 16-bit mono PCM at %s Hz"
                    % (fmt["rate"], fmt["bits"], fmt["channels"], " or ".join(str(r) for r in sorted(rates, reverse=True)))
                )
            return {"rate": fmt["rate"], "channels": 1, "bits": 16}, data[pos:]
        else:
            pos += size + (size & 1)
    raise AudioFormatError("the RIFF header has no data chunk")


def rms(pcm):
    """Root mean square of 16-bit little-endian samples."""
    count = len(pcm) // 2
    if not count:
        return 0.0
    samples = struct.unpack("<%dh" % count, pcm[: 2 * count])
    return math.sqrt(sum(s * s for s in samples) / count)


class SpeechDetector:
    """Segments of sound in a PCM stream, fed in pieces of any size.

    feed() and finish() return events, positions in samples from the start of the stream:
      ("start", start)             a segment is confirmed (MIN_SPEECH_MS of sound)
      ("progress", start, now)     every HYPOTHESIS_EVERY_MS inside a segment
      ("end", start, end)          a segment ended: silence as long as end_silence_ms, or max_segment_ms reached
    """

    def __init__(self, rate, end_silence_ms=500, max_segment_ms=None, threshold=SPEECH_RMS):
        self.rate = rate
        self.window = rate * WINDOW_MS // 1000
        self.end_silence = rate * end_silence_ms // 1000
        self.max_segment = rate * max_segment_ms // 1000 if max_segment_ms else None
        self.min_speech = rate * MIN_SPEECH_MS // 1000
        self.hypothesis_every = rate * HYPOTHESIS_EVERY_MS // 1000
        self.threshold = threshold
        self.pending = b""
        self.position = 0  # samples consumed
        self.state = "quiet"  # quiet | maybe | speech
        self.start = self.loud = self.last_loud_end = self.next_progress = 0
        self.segments = 0

    def feed(self, pcm):
        data = self.pending + pcm
        size = 2 * self.window
        events = []
        whole = len(data) - len(data) % size
        for offset in range(0, whole, size):
            events += self._window(rms(data[offset:offset + size]) >= self.threshold, self.window)
        self.pending = data[whole:]
        return events

    def finish(self):
        """End of audio: the last partial window, then the end of an open segment."""
        events = []
        if len(self.pending) >= 2:
            events += self._window(rms(self.pending) >= self.threshold, len(self.pending) // 2)
        self.pending = b""
        if self.state == "speech":
            events.append(("end", self.start, self.last_loud_end))
            self.segments += 1
        self.state = "quiet"
        return events

    def _window(self, loud, samples):
        begin, end = self.position, self.position + samples
        self.position = end
        events = []
        if self.state == "quiet":
            if loud:
                self.state, self.start, self.loud, self.last_loud_end = "maybe", begin, samples, end
        elif self.state == "maybe":
            if loud:
                self.loud += samples
                self.last_loud_end = end
                if self.loud >= self.min_speech:
                    self.state = "speech"
                    self.next_progress = end + self.hypothesis_every
                    events.append(("start", self.start))
            elif end - self.last_loud_end >= self.end_silence:
                self.state = "quiet"
        else:
            if loud:
                self.last_loud_end = end
            if end - self.last_loud_end >= self.end_silence:
                events.append(("end", self.start, self.last_loud_end))
                self.segments += 1
                self.state = "quiet"
            elif self.max_segment and end - self.start >= self.max_segment:
                events.append(("end", self.start, end))
                self.segments += 1
                self.state = "quiet"
            elif end >= self.next_progress:
                self.next_progress = end + self.hypothesis_every
                events.append(("progress", self.start, end))
        return events

    def ticks(self, samples):
        """Samples as protocol time (100 ns units)."""
        return samples * TICKS_PER_SECOND // self.rate
