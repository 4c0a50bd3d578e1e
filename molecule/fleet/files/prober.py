"""Probe every host's speech containers while a run goes on, and say when each host was down (a test fixture).

    prober.py probe OUT STOPFILE host:port [host:port ...]   poll GET /ready every 0.25 s until STOPFILE exists
    prober.py analyze OUT                                    JSON: per host its down intervals, and the overlaps

A host is down at a moment when any of its ports does not answer /ready with 200.
"""

import json
import os
import sys
import threading
import time
import urllib.request


def ready(target):
    try:
        with urllib.request.urlopen("http://%s/ready" % target, timeout=1) as answer:
            return answer.status == 200
    except Exception:  # noqa: BLE001  (any failure is "down")
        return False


def probe(out, stopfile, targets):
    with open(out, "w") as log:
        while not os.path.exists(stopfile):
            moment = time.time()
            results = {}
            threads = [threading.Thread(target=lambda t=t: results.__setitem__(t, ready(t))) for t in targets]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            hosts = {}
            for target, up in results.items():
                host = target.rsplit(":", 1)[0]
                hosts[host] = hosts.get(host, True) and up
            log.write(json.dumps({"t": round(moment, 2), "up": hosts}) + "\n")
            log.flush()
            time.sleep(max(0.0, 0.25 - (time.time() - moment)))


def analyze(out):
    samples = [json.loads(line) for line in open(out) if line.strip()]
    intervals = {}
    open_since = {}
    for sample in samples:
        for host, up in sample["up"].items():
            if not up and host not in open_since:
                open_since[host] = sample["t"]
            elif up and host in open_since:
                intervals.setdefault(host, []).append([open_since.pop(host), sample["t"]])
    for host, since in open_since.items():
        intervals.setdefault(host, []).append([since, samples[-1]["t"]])
    overlaps = []
    for sample in samples:
        down = sorted(host for host, up in sample["up"].items() if not up)
        if len(down) > 1:
            overlaps.append({"t": sample["t"], "down": down})
    print(json.dumps({"samples": len(samples), "down": intervals, "overlaps": overlaps,
                      "down_seconds": dict((h, round(sum(b - a for a, b in v), 1)) for h, v in intervals.items())}))


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        probe(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        analyze(sys.argv[2])
