"""The demo fleet: three local hosts, the registry and billing service, and
site.yml run against them end to end.

    scripts/demo up      bring it up and run site.yml (again: a re-run on the same fleet)
    scripts/demo sdk     Microsoft's Speech SDK against a demo host: recognise, synthesise, detect a language
    scripts/demo down    remove the hosts and the support services (images are kept)
    scripts/demo status  the hosts and their endpoints

The hosts are systemd containers with their own Docker engines, as in the
Molecule scenarios. The Speech resource is played by the test rig's billing
service, with a demo key generated on first use (kept in .cache/demo/, no vault).
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rig  # noqa: E402  pylint: disable=wrong-import-position
import support  # noqa: E402  pylint: disable=wrong-import-position

DEMO = rig.CACHE / "demo"
HOSTS = {"speech-demo-1": "172.30.0.21", "speech-demo-2": "172.30.0.22", "speech-demo-3": "172.30.0.23"}
# Each host runs all four kinds; the test hosts have 2 cores, so the limits are far below Microsoft's minimum.
PLAN = [
    {"name": "stt-en", "kind": "stt", "locale": "en-US", "host_port": 5000, "cpus": 0.25, "memory": "256m"},
    {"name": "cstt", "kind": "custom_stt", "model_id": "00000000-demo-4bbb-8ccc-000000000001", "host_port": 5001, "cpus": 0.25, "memory": "256m"},
    {"name": "lid", "kind": "lid", "host_port": 5002, "cpus": 0.25, "memory": "256m"},
    {"name": "tts-aria", "kind": "ntts", "voice": "en-US-AriaNeural", "host_port": 5003, "cpus": 0.25, "memory": "256m"},
]


def log(msg):
    print("[demo] " + msg, flush=True)


def demo_key(info):
    """The demo's Speech key: generated once, registered with the billing service, never in a vault."""
    path = DEMO / "demo-key"
    if not path.exists():
        DEMO.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    key = path.read_text().strip()
    request = urllib.request.Request(info["billing_admin_url"].rstrip("/") + "/admin/keys", method="POST",
                                     data=json.dumps({"key": key, "name": "demo", "mode": "connected"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  (the rig's own service on loopback)
        answer.read()
    return key


def host_running(name):
    proc = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", name], capture_output=True, text=True, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def start_hosts(info, hosts=None, label="onprem.speech.demo=true"):
    """Start the hosts (name -> fixed address on the rig's network; default the demo's) and wait for systemd in each.

    bench/fleet.py makes its extra hosts with this too (its own names, addresses and label)."""
    hosts = HOSTS if hosts is None else hosts
    image = rig.built_images()[("host", rig.DEFAULT_DISTRO)][0]
    for name, ip in hosts.items():
        if host_running(name):
            continue
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
        caps = ["--cap-add=" + cap for cap in rig.HOST_CAPABILITIES]
        rig.run(["docker", "run", "-d", "--name", name, "--hostname", name, "--network", info["network"], "--ip", ip, "--dns", info["dns_ip"],
                 "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--cgroupns", "host",
                 "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v", "/var/lib/docker", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
                 "--label", label] + caps + [image, "/lib/systemd/systemd"])
    for name in hosts:
        for _attempt in range(60):
            state = subprocess.run(["docker", "exec", name, "systemctl", "is-system-running"], capture_output=True, text=True, check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(1)
        # A provisioned host has package lists; this image was built without them.
        rig.run(["docker", "exec", name, "apt-get", "update", "-qq"], quiet=True)


def write_inventory(info, key):
    DEMO.mkdir(parents=True, exist_ok=True)
    inventory = {"all": {"children": {"speech_hosts": {
        "hosts": dict((name, {"ansible_connection": "community.docker.docker", "ansible_host": name, "speech_containers_client_host": ip})
                      for name, ip in HOSTS.items()),
        "vars": {
            "ansible_python_interpreter": "/usr/bin/python3",
            "speech_containers_eula": "accept",
            "speech_containers_billing_endpoint": info["billing_endpoint"],
            "speech_containers_api_key": key,
            "speech_containers_allow_undersized": True,
            # The demo machine's cores may run below Microsoft's 2.6 GHz (cloud machines vary); a real site leaves this alone.
            "preflight_min_core_mhz": 2000,
            "speech_containers_list": PLAN,
            # The site's DNS (the rig's) for the engines and the containers.
            "docker_daemon_options": {"dns": [info["dns_ip"]]},
            # Trust for the registry that plays mcr.microsoft.com (its certificate is the rig's CA); written
            # only when images are missing, so a re-run pays nothing for it.
            "speech_containers_registry_ca": info["ca_cert_pem"],
        }}}}}
    path = DEMO / "inventory.yml"
    path.write_text(json.dumps(inventory, indent=2))
    path.chmod(0o600)
    return path


def run_site(inventory, extra=None):
    env = rig.tool_env({"ANSIBLE_CONFIG": str(rig.ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": os.environ.get("ANSIBLE_FORCE_COLOR", "1")})
    cmd = [rig.venv_bin("ansible-playbook"), "-i", inventory, rig.ROOT / "playbooks" / "site.yml", "-e", "speech_report_dir=%s" % (DEMO / "report")]
    return rig.run(cmd + (extra or []), env=env, cwd=rig.ROOT)


def url(spec, ip):
    """How the Speech SDK reaches a container: the scheme the kinds table gives for its kind."""
    return "%s://%s:%d" % (support.speech_kinds().KINDS[spec["kind"]]["protocol"], ip, spec["host_port"])


def endpoints():
    lines = []
    for name, ip in HOSTS.items():
        for spec in PLAN:
            lines.append("  %-14s %-9s %-11s %s" % (name, spec["name"], spec["kind"], url(spec, ip)))
    return lines


def sdk():
    """What an application does, with Microsoft's Speech SDK, against the first demo host's four containers."""
    rig.ensure_venv()
    if not host_running("speech-demo-1"):
        log("the demo fleet is not up: scripts/demo up")
        return 1
    client = rig.ROOT / "tests" / "sdk" / "speech_client.py"
    python = str(rig.venv_bin("python"))
    ip = HOSTS["speech-demo-1"]
    tone = DEMO / "sdk-tone.wav"
    synthesized = DEMO / "sdk-synthesized.wav"
    subprocess.run([python, client, "tone", tone], capture_output=True, check=True)
    by_probe = dict((support.speech_kinds().KINDS[spec["kind"]]["probe"], spec) for spec in PLAN)
    steps = [
        ("recognise %s" % tone.name, ["recognize", url(by_probe["recognition"], ip), str(tone), "--locale", "en-US"]),
        ("synthesise to %s" % synthesized, ["synthesize", url(by_probe["synthesis"], ip), "--voice", "en-US-AriaNeural", "--out", str(synthesized)]),
        ("detect the language of %s" % tone.name, ["detect", url(by_probe["language_id"], ip), str(tone), "--languages", "en-US,de-DE"]),
    ]
    failed = 0
    for words, args in steps:
        proc = subprocess.run([python, client] + args, capture_output=True, text=True, check=False)
        print("  %-42s %s %s" % (words, args[1], proc.stdout.strip() or proc.stderr.strip()[-300:]))
        failed += proc.returncode != 0
    print("\nThe Python lines behind each (pip install azure-cognitiveservices-speech):")
    print("  cfg = speechsdk.SpeechConfig(host='%s'); cfg.speech_recognition_language = 'en-US'" % url(by_probe["recognition"], ip))
    print("  speechsdk.SpeechRecognizer(cfg, speechsdk.audio.AudioConfig(filename='%s')).recognize_once().text" % tone)
    print("  cfg = speechsdk.SpeechConfig(host='%s'); cfg.speech_synthesis_voice_name = 'en-US-AriaNeural'" % url(by_probe["synthesis"], ip))
    print("  speechsdk.SpeechSynthesizer(cfg, speechsdk.audio.AudioOutputConfig(filename='out.wav')).speak_text_async('Hello').get()")
    print("(The containers are the speech container emulator: a transcript it was told to give, a tone for speech.)")
    return 1 if failed else 0


def up():
    started = time.time()
    rig.ensure_venv()
    rig.ensure_collection_link()
    rig.ensure_engine()
    rig.ensure_images()
    info = support.ensure_support(rig.tool_env())
    key = demo_key(info)
    start_hosts(info)
    inventory = write_inventory(info, key)
    run_site(inventory)
    print("\nThe demo fleet is up (%.0f s). Speech endpoints (Speech SDK: SpeechConfig(host=...); try scripts/demo sdk):"
          % (time.time() - started))
    print("\n".join(endpoints()))
    ip = HOSTS["speech-demo-1"]
    print("\nTry:  curl http://%s:5003/status     curl http://%s:5000/ready" % (ip, ip))
    print("      curl -X POST http://%s:5003/speech/synthesize/cognitiveservices/v1 -H 'Content-Type: application/ssml+xml' \\" % ip)
    print("           -H 'X-Microsoft-OutputFormat: riff-16khz-16bit-mono-pcm' -o hello.wav \\")
    print("           --data \"<speak version='1.0' xml:lang='en-US'><voice name='en-US-AriaNeural'>Hello</voice></speak>\"")
    print("Fleet report: %s" % (DEMO / "report" / "index.html"))
    print("Inventory:    %s   (run site.yml again: scripts/demo up; remove: scripts/demo down)" % inventory)
    return 0


def down():
    for name in HOSTS:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
    support.down()
    log("removed the demo hosts and the support services (images and the CA are kept)")
    return 0


def status():
    for name in HOSTS:
        log("%s: %s" % (name, "running" if host_running(name) else "not running"))
    print("\n".join(endpoints()))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "sdk", "down", "status"])
    args = parser.parse_args(argv)
    try:
        return {"up": up, "sdk": sdk, "down": down, "status": status}[args.action]()
    except rig.RigError as exc:
        log(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
