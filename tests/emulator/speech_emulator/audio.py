"""PCM audio: the tone the synthesis sends."""

import math
import struct


def make_wav(rate, text_length, riff=True):
    """A 16-bit mono tone whose length grows with the text (0.3 s + 60 ms a character, at most 60 s)."""
    seconds = min(0.3 + 0.06 * text_length, 60.0)
    period = max(2, int(round(rate / 400.0)))
    one = b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * i / period))) for i in range(period))
    samples = int(rate * seconds)
    data = one * (samples // period) + one[: 2 * (samples % period)]
    if not riff:
        return data
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", len(data))
    return header + data
