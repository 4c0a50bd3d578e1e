"""Recognition latency through the gateway against direct, in figures.

    scripts/demo up               (once: a converged demo fleet)
    python3 bench/gateway.py      builds a gateway host, runs site.yml with it, prints the figures
    python3 bench/gateway.py -n 400 --write    more requests, and the figures into BENCHMARKS.md
    python3 bench/gateway.py --down            removes the gateway host

Side by side, in one run, from the controller with the real Speech SDK (tests/sdk/speech_client.py latency): n
recognitions of the same short audio straight to speech-demo-1's speech to text container (ws://), then n through the
gateway (wss://, TLS and a client key, HAProxy choosing between the demo's three hosts). It prints p50, p95 and the
mean of each and what the gateway adds. Nothing here asserts a time: it prints what it measured.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "rig"))

import demo  # noqa: E402  pylint: disable=wrong-import-position
import rig  # noqa: E402  pylint: disable=wrong-import-position

GATEWAY = {"speech-bench-gateway": "172.30.0.29"}
LABEL = "onprem.speech.bench=true"
CLIENT_KEY = "bench-client-key-0123456789abcdef"


def log(msg):
    print("[bench] " + msg, flush=True)


def inventory(tmp):
    source = demo.DEMO / "inventory.yml"
    if not source.exists() or not all(demo.host_running(name) for name in demo.HOSTS):
        raise SystemExit("No demo fleet: run scripts/demo up first (the gateway routes to the demo's hosts).")
    data = json.loads(source.read_text())
    name, ip = list(GATEWAY.items())[0]
    data["all"]["children"]["speech_gateways"] = {"hosts": {name: {
        "ansible_connection": "community.docker.docker", "ansible_host": name, "ansible_python_interpreter": "/usr/bin/python3",
        "gateway_address": ip, "gateway_tls_generate": True, "gateway_tls_dir": str(demo.DEMO / "gateway-tls"),
        "gateway_client_keys": [{"name": "bench", "key": CLIENT_KEY}]}}}
    for host, values in data["all"]["children"]["speech_hosts"]["hosts"].items():
        values["gateway_backend_address"] = demo.HOSTS[host]
    path = Path(tmp) / "inventory.yml"
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


def latency(url, audio, count, key=None, ca=None):
    cmd = [str(rig.venv_bin("python")), str(ROOT / "tests" / "sdk" / "speech_client.py"), "latency", url, audio, "-n", str(count)]
    if key:
        cmd += ["--key", key, "--ca", ca]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit("the SDK client printed no result: %s" % proc.stderr[-800:])
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="recognitions each way (default 200)")
    parser.add_argument("--write", action="store_true", help="write the figures into BENCHMARKS.md")
    parser.add_argument("--down", action="store_true", help="remove the gateway host and stop")
    args = parser.parse_args(argv)
    name, ip = list(GATEWAY.items())[0]
    if args.down:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
        log("removed %s" % name)
        return 0
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        path = inventory(tmp)
        if not demo.host_running(name):
            log("starting %s (the demo's host image)" % name)
            demo.start_hosts({"network": demo.support.NETWORK, "dns_ip": demo.support.DNS_IP}, hosts=GATEWAY, label=LABEL)
        log("site.yml with the gateway (a no-op on the speech hosts once converged)")
        env = rig.tool_env({"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"})
        run = subprocess.run([str(rig.venv_bin("ansible-playbook")), "-i", str(path), str(ROOT / "playbooks" / "site.yml"),
                              "-e", "speech_report_dir=%s" % (Path(tmp) / "report")], env=env, cwd=ROOT, capture_output=True, text=True,
                             check=False)
        if run.returncode != 0:
            sys.stderr.write(run.stdout[-3000:])
            raise SystemExit("site.yml with the gateway failed (exit %d)" % run.returncode)
        audio = str(Path(tmp) / "tone.wav")
        subprocess.run([str(rig.venv_bin("python")), str(ROOT / "tests" / "sdk" / "speech_client.py"), "tone", audio], check=True,
                       capture_output=True)
        ca = str(demo.DEMO / "gateway-tls" / "ca.crt")
        log("%d recognitions straight to speech-demo-1, then %d through the gateway" % (args.n, args.n))
        direct = latency("ws://%s:5000" % demo.HOSTS["speech-demo-1"], audio, args.n)
        through = latency("wss://%s:5000" % ip, audio, args.n, key=CLIENT_KEY, ca=ca)
        say("Machine: %s, %d CPUs, Python %s; the real Speech SDK (azure-cognitiveservices-speech) on the controller" % (
            platform.machine(), os.cpu_count(), platform.python_version()))
        say("Audio: 1 s of tone between 0.3 s silences (16 kHz PCM); each request opens its own connection, as recognize_once does")
        say("")
        say("| Path | Requests | Failed | p50 | p95 | Mean |")
        say("|---|---|---|---|---|---|")
        for label, figures in (("direct, ws:// to speech-demo-1", direct), ("gateway, wss:// with a client key, 3 backends", through)):
            row = (label, figures["requests"], figures["failed"], figures["p50"] or 0, figures["p95"] or 0, figures["mean"] or 0)
            say("| %s | %d | %d | %.3f s | %.3f s | %.3f s |" % row)
        say("")
        say("The gateway adds %+.3f s at p50 and %+.3f s at p95 (TLS handshake, the key check, one more hop)." % (
            (through["p50"] or 0) - (direct["p50"] or 0), (through["p95"] or 0) - (direct["p95"] or 0)))
    if args.write:
        bench = ROOT / "BENCHMARKS.md"
        text = bench.read_text()
        start, end = "<!-- gateway:start -->", "<!-- gateway:end -->"
        block = "%s\n%s\n%s" % (start, "\n".join(lines), end)
        if start in text:
            text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n## Through the gateway\n\n`python3 bench/gateway.py` (see its docstring).\n\n" + block + "\n"
        bench.write_text(text)
        print("wrote %s" % bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
