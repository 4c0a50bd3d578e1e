"""Reads audio files and prints what they are, as JSON: the first bytes' magic
(MP3 frame sync or ID3, Ogg + OpusHead, fLaC, RIFF/WAVE), and for WAV files the
fmt chunk (format tag, channels, rate, bits) and the duration from the data
chunk size and the byte rate. Stdlib only; any WAV format tag (PCM, A-law,
mu-law, float, extensible). Usage: audio_report.py FILE..."""
import json
import struct
import sys


def wav_info(data):
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, fmt, data_size = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # the subformat GUID's first two bytes
            fmt = {"format_tag": tag, "channels": channels, "rate": rate, "byte_rate": byte_rate,
                   "block_align": block_align, "bits": bits}
        elif cid == b"data":
            data_size = min(size, len(data) - pos - 8)
        pos += 8 + size + (size & 1)
    if fmt is None or data_size is None:
        return {"error": "no fmt or data chunk"}
    fmt["data_bytes"] = data_size
    fmt["duration"] = data_size / fmt["byte_rate"] if fmt["byte_rate"] else None
    return fmt


def magic(data):
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg-opus" if b"OpusHead" in data[:200] else "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return "unknown"


def main(paths):
    report = {}
    for path in paths:
        with open(path, "rb") as fh:
            data = fh.read()
        report[path] = {"size": len(data), "magic": magic(data), "wav": wav_info(data)}
    json.dump(report, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
