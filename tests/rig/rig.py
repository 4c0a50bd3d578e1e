"""The test rig: one command that takes a fresh machine to a finished test run.

    scripts/test                  everything: unit, lint, sanity, every scenario
    scripts/test unit lint        only those parts
    scripts/test molecule:docker  one Molecule scenario
    scripts/test --list           the parts and scenarios
    scripts/test --setup          only the venv and the collection link

It makes what it needs itself and reuses it when nothing changed: the virtual
environment (from requirements.txt), a Docker engine (docker.io, where none
answers and it may install one), and the local images (a Debian base from
debootstrap for each distribution in DISTROS, then the images built on them).
Nothing is pulled from a registry: every image name starts with localhost/.

The scenarios are the directories molecule/*/ with a molecule.yml; a first
line "# rig: support" says the scenario needs the support services (registry,
billing, DNS), "# rig: apt=chromium" Debian packages the controller needs.

Only the Python standard library is used here, so the system python3 runs it.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SPEECH_CI_CACHE", ROOT / ".cache"))
# The support services (DNS, registries, billing) are the machine's, shared by every checkout: so are
# their CA, keys and state, kept here (a second checkout's test run must not replace them under a
# running demo of the first).
SUPPORT_HOME = Path(os.environ.get("SPEECH_CI_SUPPORT_HOME")
                    or ("/var/lib/speech-ci" if os.geteuid() == 0 else str(Path.home() / ".cache" / "speech-ci")))
VENV = CACHE / "venv"
COLLECTIONS = CACHE / "collections"
IMAGES_DIR = ROOT / "tests" / "rig" / "images"
NAMESPACE, NAME = "onprem", "speech"

# The distributions test hosts are built for: name -> Debian version. The first is the default
# (SPEECH_CI_IMAGE_<NAME> without a suffix); an image context lists the ones it is built for in
# its "distros" file (default: the first only). Molecule platforms name the image per distribution,
# as SPEECH_CI_IMAGE_HOST_TRIXIE.
DISTROS = {"bookworm": "12", "trixie": "13"}
DEFAULT_DISTRO = "bookworm"


def scenarios():
    """[(name, needs support, controller packages, minutes)] of molecule/*/molecule.yml, longest first.

    The header line "# rig: support apt=chromium minutes=18" says what a scenario needs and about
    how long it takes on a 2-core machine: the rig starts the longest first, so that two lanes end
    close together.
    """
    found = []
    for path in sorted((ROOT / "molecule").glob("*/molecule.yml")):
        header = ""
        for line in path.read_text().splitlines()[:5]:
            if line.startswith("# rig:"):
                header = line[len("# rig:"):]
        words = header.replace(";", " ").split()
        packages = tuple(p for w in words if w.startswith("apt=") for p in w[4:].split(",") if p)
        minutes = [float(w[8:]) for w in words if w.startswith("minutes=")]
        found.append((path.parent.name, "support" in words, packages, minutes[0] if minutes else 5.0))
    return sorted(found, key=lambda s: (-s[3], s[0]))


# Every capability Docker 20.10 (Debian 12's docker.io) knows, but SYS_RESOURCE:
# `--privileged` fails on these machines because SYS_RESOURCE cannot be
# granted. With seccomp and apparmor unconfined, cgroupns host and a rw
# /sys/fs/cgroup, this runs systemd as PID 1 and a Docker engine inside.
HOST_CAPABILITIES = [
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH",
    "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE",
    "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
    "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE",
    "SYS_RAWIO", "SYS_TIME", "SYS_TTY_CONFIG", "WAKE_ALARM",
]


class RigError(Exception):
    """A plain-words reason the rig cannot go on."""


# Where a thread's part writes (a log file when parts run side by side; the console otherwise).
OUTPUT = threading.local()


def sink():
    return getattr(OUTPUT, "file", None)


def log(msg):
    target = sink()
    if target is not None:
        target.write("[rig] " + msg + "\n")
        target.flush()
    else:
        print("[rig] " + msg, flush=True)


def say(msg):
    """To the console, whatever the thread's sink."""
    print("[rig] " + msg, flush=True)


def run(cmd, check=True, capture=False, env=None, cwd=None, quiet=False, input_bytes=None):
    """Run a command; raise RigError naming it when it fails and check is set."""
    if not quiet:
        log("$ " + " ".join(str(c) for c in cmd))
    target = sink()
    proc = subprocess.run(
        [str(c) for c in cmd],
        check=False,
        cwd=cwd,
        env=env,
        input=input_bytes,
        stdout=subprocess.PIPE if capture else target,
        stderr=subprocess.PIPE if capture else (subprocess.STDOUT if target is not None else None),
    )
    if check and proc.returncode != 0:
        detail = ""
        if capture:
            detail = "\n" + (proc.stderr or b"").decode(errors="replace")[-2000:]
        raise RigError("command failed (exit %d): %s%s" % (proc.returncode, " ".join(str(c) for c in cmd), detail))
    return proc


def out(cmd, **kw):
    return run(cmd, capture=True, quiet=True, **kw).stdout.decode().strip()


def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                for f in sorted(p for p in part.rglob("*") if p.is_file()):
                    h.update(str(f.relative_to(part)).encode())
                    h.update(f.read_bytes())
            else:
                h.update(part.read_bytes())
        else:
            h.update(str(part).encode())
    return h.hexdigest()[:12]


# --------------------------------------------------------------------------
# Virtual environment


def venv_bin(tool):
    return VENV / "bin" / tool


def ensure_venv():
    req = ROOT / "requirements.txt"
    stamp = VENV / ".onprem-speech-stamp"
    want = digest(req, sys.version)
    if stamp.exists() and stamp.read_text() == want and venv_bin("ansible-playbook").exists():
        log("virtual environment up to date: %s" % VENV)
        return
    if VENV.exists():
        shutil.rmtree(VENV)
    log("creating the virtual environment from requirements.txt")
    run([sys.executable, "-m", "venv", VENV])
    run([venv_bin("python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([venv_bin("python"), "-m", "pip", "install", "--quiet", "-r", req])
    stamp.write_text(want)


def ensure_collection_link():
    """Make the checkout importable as ansible_collections.onprem.speech."""
    link = COLLECTIONS / "ansible_collections" / NAMESPACE / NAME
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() == ROOT:
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(ROOT, target_is_directory=True)


def tool_env(extra=None):
    env = dict(os.environ)
    env["PATH"] = "%s:%s" % (VENV / "bin", env.get("PATH", ""))
    env["VIRTUAL_ENV"] = str(VENV)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS)
    env["ANSIBLE_FORCE_COLOR"] = env.get("ANSIBLE_FORCE_COLOR", "0")
    env["PY_COLORS"] = env.get("PY_COLORS", "0")
    env["MOLECULE_GLOB"] = "molecule/*/molecule.yml"
    env["DOCKER_BUILDKIT"] = "0"
    # Where scenarios keep logs worth reading after Molecule prunes its own directory.
    env["SPEECH_CI_LOGS"] = str(CACHE / "logs")
    (CACHE / "logs").mkdir(parents=True, exist_ok=True)
    # Molecule interpolates ${VAR} before parsing YAML: this lands as a YAML list.
    env["SPEECH_CI_HOST_CAPABILITIES"] = "[" + ", ".join(HOST_CAPABILITIES) + "]"
    env.update(image_env())
    # The key test hosts reached over SSH take (the image makes the user deploy; prepare puts the key in).
    env["SPEECH_CI_SSH_KEY"] = str(SUPPORT_HOME / "ssh" / "id_ed25519")
    if extra:
        env.update(extra)
    return env


def ensure_ssh_key():
    """The machine's key for test hosts reached over SSH (made once)."""
    key = SUPPORT_HOME / "ssh" / "id_ed25519"
    if key.exists() and key.with_suffix(".pub").exists():
        return key
    ensure_host_tools()
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "speech-ci test hosts", "-f", key])
    return key


# --------------------------------------------------------------------------
# Docker engine


def engine_answers():
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


def apt_install(*packages):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + list(packages), env=env)


def can_install():
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def ensure_host_tools():
    missing = [pkg for tool, pkg in (("debootstrap", "debootstrap"), ("openssl", "openssl"), ("ssh", "openssh-client"))
               if not shutil.which(tool)]
    if not missing:
        return
    if not can_install():
        raise RigError("missing %s, and this rig can only install it as root on Debian (apt-get)." % ", ".join(missing))
    apt_install(*missing)


def ensure_engine():
    if engine_answers():
        log("a Docker engine answers")
        return
    if not can_install():
        raise RigError(
            "no Docker engine answers (`docker info` fails), and this rig can only install one as root on a "
            "Debian-family machine (apt-get). Start a Docker engine yourself, or run the rig as root on Debian."
        )
    if not shutil.which("dockerd"):
        log("installing docker.io")
        apt_install("docker.io")
    if engine_answers():
        return
    logfile = CACHE / "dockerd.log"
    CACHE.mkdir(parents=True, exist_ok=True)
    if Path("/run/systemd/system").is_dir():
        run(["systemctl", "start", "docker"], check=False)
    if not engine_answers():
        log("starting dockerd in the background (log: %s)" % logfile)
        with open(logfile, "ab") as fh:
            subprocess.Popen(["dockerd"], stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    for _attempt in range(60):
        if engine_answers():
            log("the Docker engine answers")
            return
        time.sleep(1)
    raise RigError("dockerd was started but does not answer after 60 s; see %s" % logfile)


# --------------------------------------------------------------------------
# Images


def apt_mirror():
    """The Debian mirror apt uses on this machine (deb822 or one-line sources; not the security one)."""
    sources = [Path("/etc/apt/sources.list")] + sorted(Path("/etc/apt/sources.list.d").glob("*"))
    for src in sources:
        if not src.is_file():
            continue
        uris, suites = [], []
        for line in src.read_text(errors="replace").splitlines():
            line = line.strip()
            if line.startswith("deb "):
                fields = [f for f in line.split() if not f.startswith("[")]
                if len(fields) >= 3 and "security" not in fields[1] and "/debian" in fields[1] and "security" not in fields[2]:
                    return fields[1]
            if line.startswith("URIs:"):
                uris = line.split()[1:]
            if line.startswith("Suites:"):
                suites = line.split()[1:]
            if uris and suites and "security" not in uris[0] and not any("security" in s for s in suites) and "/debian" in uris[0]:
                return uris[0]
    return "http://deb.debian.org/debian"


def image_exists(ref):
    return subprocess.run(["docker", "image", "inspect", ref], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


def base_image(distro=DEFAULT_DISTRO):
    """(ref, mirror) of the debootstrapped base of a distribution."""
    mirror = apt_mirror()
    return "localhost/speech-ci/debian%s-base:%s" % (DISTROS[distro], digest("%s minbase" % distro, mirror, IMAGES_DIR / "base.sh")), mirror


def image_distros(ctx):
    """The distributions an image context is built for (its "distros" file; default the first)."""
    listed = (ctx / "distros").read_text().split() if (ctx / "distros").is_file() else [DEFAULT_DISTRO]
    return [d for d in listed if d in DISTROS]


def built_images():
    """(name, distro) -> (ref, context dir, base ref) for every image under tests/rig/images/ and each of its distributions."""
    found = {}
    for ctx in sorted(p for p in IMAGES_DIR.iterdir() if (p / "Dockerfile").is_file()):
        for distro in image_distros(ctx):
            base = base_image(distro)[0]
            suffix = "" if distro == DEFAULT_DISTRO else "-" + distro
            found[(ctx.name, distro)] = ("localhost/speech-ci/%s%s:%s" % (ctx.name, suffix, digest(base, ctx)), ctx, base)
    return found


# Images made by converging a built image with the collection's roles, then committing it: name -> (the built
# image it starts from, the playbook that converges it, what its content depends on). "host-speech" is a test host
# with the docker and gstreamer roles applied with their defaults: the scenarios whose hosts need Docker and
# GStreamer before they test something else start from it (their prepare runs the docker role again with their
# own settings), instead of installing the same packages again in each scenario. Its hash covers the host image,
# the playbook and the two roles; not plugins/: a change there is run by each scenario's own converge on top.
CONVERGED = {"host-speech": ("host", IMAGES_DIR.parent / "converge_host.yml",
                             (ROOT / "roles" / "docker", ROOT / "roles" / "gstreamer"))}


def converged_images():
    """(name, distro) -> (ref, the image it starts from, playbook) for every image of CONVERGED and each distribution."""
    built = built_images()
    found = {}
    for name, (source, playbook, inputs) in CONVERGED.items():
        for (built_name, distro), (source_ref, _ctx, _base) in built.items():
            if built_name != source:
                continue
            suffix = "" if distro == DEFAULT_DISTRO else "-" + distro
            found[(name, distro)] = ("localhost/speech-ci/%s%s:%s" % (name, suffix, digest(source_ref, playbook, *inputs)), source_ref, playbook)
    return found


def image_env():
    env = {"SPEECH_CI_IMAGE_BASE": base_image()[0]}
    images = dict((key, value[0]) for key, value in built_images().items())
    images.update((key, value[0]) for key, value in converged_images().items())
    for (name, distro), ref in images.items():
        key = "SPEECH_CI_IMAGE_" + name.upper().replace("-", "_")
        env[key + "_" + distro.upper()] = ref
        if distro == DEFAULT_DISTRO:
            env[key] = ref
    return env


def ensure_base_image(distro=DEFAULT_DISTRO):
    ref, mirror = base_image(distro)
    if image_exists(ref):
        log("base image present: " + ref)
        return ref
    ensure_host_tools()
    rootfs = CACHE / ("rootfs-" + distro)
    if rootfs.exists():
        shutil.rmtree(rootfs)
    log("debootstrap %s from %s" % (distro, mirror))
    run(["debootstrap", "--variant=minbase", distro, rootfs, mirror])
    run(["bash", IMAGES_DIR / "base.sh", rootfs, mirror, distro])
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    run(["docker", "import", "--change", 'CMD ["/bin/bash"]', "-", ref], input_bytes=tar.stdout.read())
    tar.wait()
    shutil.rmtree(rootfs)
    return ref


def ensure_images():
    for distro in DISTROS:
        ensure_base_image(distro)
    for (name, distro), (ref, ctx, base) in built_images().items():
        if image_exists(ref):
            log("image present: " + ref)
            continue
        log("building " + ref)
        run(["docker", "build", "-q", "--pull=false", "--build-arg", "BASE=" + base, "--build-arg", "SUITE=" + distro, "-t", ref, ctx],
            env=dict(os.environ, DOCKER_BUILDKIT="0"))


def ensure_converged_images():
    """Build the CONVERGED images that are missing, the distributions side by side: a container of the image they
    start from, run as a Molecule platform is, converged by their playbook, stopped, and committed."""
    missing = [(key, value) for key, value in sorted(converged_images().items()) if not image_exists(value[0])]
    for (name, distro), (ref, _source, _playbook) in converged_images().items():
        if image_exists(ref):
            log("image present: " + ref)
    if not missing:
        return
    ensure_venv()
    ensure_collection_link()
    with ThreadPoolExecutor(max_workers=len(missing)) as pool:
        for future in [pool.submit(converge_image, name, distro, ref, source, playbook)
                       for (name, distro), (ref, source, playbook) in missing]:
            future.result()


def converge_image(name, distro, ref, source, playbook):
    box = "speech-ci-converge-%s-%s" % (name, distro)
    run(["docker", "rm", "-f", "-v", box], check=False, quiet=True, capture=True)
    caps = [arg for cap in HOST_CAPABILITIES for arg in ("--cap-add", cap)]
    log("converging %s from %s with %s" % (ref, source, playbook.name))
    run(["docker", "run", "-d", "--name", box, "--cap-drop", "ALL"] + caps + [
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--cgroupns", "host",
        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        # The engine's state stays out of the image, as each scenario's /var/lib/docker is its own volume.
        "-v", "/var/lib/docker", source, "/lib/systemd/systemd"], quiet=True, capture=True)
    try:
        logfile = CACHE / "logs" / ("converge-%s-%s.log" % (name, distro))
        with open(logfile, "wb") as fh:
            code = subprocess.run([str(venv_bin("ansible-playbook")), "-i", box + ",", "-c", "community.docker.docker", str(playbook)],
                                  cwd=ROOT, env=tool_env({"ANSIBLE_PIPELINING": "1", "ANSIBLE_NOCOLOR": "1"}),
                                  stdout=fh, stderr=subprocess.STDOUT, check=False).returncode
        if code != 0:
            tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-30:])
            raise RigError("converging %s failed (exit %d); its log: %s\n%s" % (ref, code, logfile, tail))
        run(["docker", "stop", "-t", "30", box], quiet=True, capture=True)
        run(["docker", "commit", "-m", "converged by " + playbook.name, box, ref], quiet=True, capture=True)
        log("committed " + ref)
    finally:
        run(["docker", "rm", "-f", "-v", box], check=False, quiet=True, capture=True)


# --------------------------------------------------------------------------
# Parts


# With --changed: the unit test files and the files ansible-lint reads (None: all of them).
TARGETS = {"unit": None, "lint": None, "sanity": None}


# pytest's workers (pytest-xdist): the unit tests spend most of their time waiting (the emulator's timers, the real
# Speech SDK's timeouts), 29 % of one core on one worker; four finish in less than half the time on 2 cores.
UNIT_WORKERS = os.environ.get("SPEECH_CI_UNIT_WORKERS", "4")


def part_unit():
    # pytest.ini names the test paths: tests/unit and the emulator's own tests/emulator.
    run([venv_bin("pytest"), "-q", "-n", UNIT_WORKERS] + (TARGETS["unit"] or []), cwd=ROOT, env=tool_env())


def part_lint():
    run([venv_bin("ansible-lint"), "--profile", "production"] + (TARGETS["lint"] or []), cwd=ROOT, env=tool_env())


def part_sanity():
    """ansible-test needs the collection under ansible_collections/<ns>/<name>: a copy of the tree."""
    tree = CACHE / "ansible-test" / "ansible_collections" / NAMESPACE / NAME
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    files = out(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT).splitlines()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            dst = tree / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    # A repository keeps ansible-test's file listing to tracked files.
    run(["git", "init", "-q"], cwd=tree)
    run(["git", "add", "-A"], cwd=tree)
    # ansible-test bootstraps pip in its per-test venvs with a script it downloads
    # from a host that cannot be reached here; it uses a cached copy first.
    for version in ("24.2", "24.0", "25.0"):
        cached = Path.home() / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % version.replace(".", "_"))
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "tests" / "rig" / "get_pip_shim.py", cached)
    py = "%d.%d" % sys.version_info[:2]
    run([venv_bin("ansible-test"), "sanity", "--venv", "--python", py, "--color", "no"] + (TARGETS["sanity"] or []), cwd=tree, env=tool_env())


def scenario_needs(names):
    """Install the controller packages and start the support services the scenarios need (once, before any runs)."""
    from support import ensure_support  # noqa: E402  (only runs that need it pay for it)

    chosen = [s for s in scenarios() if s[0] in names]
    missing = sorted({pkg for _n, _s, pkgs, _m in chosen for pkg in pkgs if not shutil.which(pkg)})
    if missing:
        if not can_install():
            raise RigError("the scenarios need %s on this machine, and the rig can only install it as root on Debian" % ", ".join(missing))
        apt_install(*missing)
    if any(needs for _n, needs, _p, _m in chosen):
        ensure_support(tool_env())


def part_molecule(scenario):
    """molecule test, with every task's, play's and step's seconds in its log and the slowest summed up at the end."""
    timing = CACHE / "logs" / ("molecule-%s.timing.jsonl" % scenario)
    timing.unlink(missing_ok=True)
    env = tool_env({
        # tests/rig/callback_plugins/speech_timing.py, in every ansible-playbook the scenario runs (Molecule's
        # steps, and the playbooks those run in turn, inherit the environment).
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "speech_timing",
        "SPEECH_CI_TIMING": str(timing),
    })
    try:
        run([venv_bin("molecule"), "test", "-s", scenario], cwd=ROOT, env=env)
    finally:
        for line in timing_summary(timing):
            log(line)


def timing_summary(path, top=10):
    """The lines that say where a scenario's minutes went: each playbook run in order, the slowest plays and tasks."""
    import json  # noqa: E402

    if not path.exists():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    lines = ["timing of %s (%s):" % (path.stem.replace(".timing", ""), path)]
    lines.append("  playbook runs, in order (Molecule's steps and what they ran):")
    lines += ["    %7.1f s  %s" % (r["seconds"], r["name"]) for r in records if r["what"] == "playbook"]
    for what in ("play", "task"):
        slowest = sorted((r for r in records if r["what"] == what), key=lambda r: -r["seconds"])[:top]
        lines.append("  the %d slowest %ss:" % (len(slowest), what))
        lines += ["    %7.1f s  %s  [%s]" % (r["seconds"], r["name"], r["playbook"]) for r in slowest]
    return lines


def setup_machine(scenario_names):
    """What Molecule scenarios need on this machine: the engine, the images, the SSH key, packages and support services."""
    ensure_engine()
    ensure_images()
    ensure_converged_images()
    ensure_ssh_key()
    scenario_needs(scenario_names)


# --------------------------------------------------------------------------


def plan_parts(requested):
    names = [scenario[0] for scenario in scenarios()]
    if not requested:
        return ["unit", "lint", "sanity"] + ["molecule:" + s for s in names]
    parts = []
    for item in requested:
        if item == "molecule":
            parts += ["molecule:" + s for s in names]
        elif item.startswith("molecule:") and item.split(":", 1)[1] in names:
            parts.append(item)
        elif item in ("unit", "lint", "sanity"):
            parts.append(item)
        else:
            raise RigError("unknown part %r; parts: unit, lint, sanity, molecule, %s" % (item, ", ".join("molecule:" + n for n in names)))
    return parts


def changed_parts(base, parts):
    """The parts, of those asked for, that the files changed since base call for; says which file chose each."""
    import changed  # noqa: E402

    try:
        files = changed.changed_files(base, ROOT)
    except subprocess.CalledProcessError as exc:
        raise RigError("git could not say what changed since %s: %s" % (base, (exc.stderr or "").strip()))
    chosen, reasons = changed.select(files, [s[0] for s in scenarios()], ROOT)
    picked = [p for p in parts if p in chosen]
    say("--changed %s: %d file(s) differ; running %s" % (base, len(files), ", ".join(picked) or "nothing"))
    for part in picked:
        say("  %-36s because of %s" % (part, reasons[part]))
    if "unit" in picked:
        TARGETS["unit"] = changed.unit_targets(files, ROOT)
        if TARGETS["unit"] == []:
            picked.remove("unit")
    if "lint" in picked and not changed.EVERYTHING.match(reasons["lint"]):
        TARGETS["lint"] = [f for f in files if (ROOT / f).is_file() and f.endswith((".yml", ".yaml"))] or None
    if "sanity" in picked and not changed.EVERYTHING.match(reasons["sanity"]):
        TARGETS["sanity"] = [f for f in files if (ROOT / f).is_file()] or None
    return picked


class Runner:
    """Runs parts, records their results, and sends each part's output to the console or its own log."""

    def __init__(self, keep_going):
        self.keep_going = keep_going
        self.results = []
        self.lock = threading.Lock()
        self.failed = False

    def step(self, label, fn, *fargs, to_file=False):
        if self.failed and not self.keep_going:
            return False
        t0 = time.time()
        logfile = CACHE / "logs" / ("%s.log" % label.replace(":", "-").replace(" ", "-"))
        handle = None
        if to_file:
            logfile.parent.mkdir(parents=True, exist_ok=True)
            handle = open(logfile, "w", encoding="utf-8", errors="replace")
            OUTPUT.file = handle
            say("%s: started (log: %s)" % (label, logfile))
        try:
            fn(*fargs)
            result = "passed"
        except Exception as exc:  # noqa: BLE001  (any failure lands in the summary)
            result = "FAILED"
            log("%s failed: %s" % (label, exc))
        finally:
            OUTPUT.file = None
            if handle:
                handle.close()
        seconds = time.time() - t0
        with self.lock:
            self.results.append((label, result, seconds))
            if result != "passed":
                self.failed = True
        if to_file:
            say("%s: %s in %.0f s" % (label, result, seconds))
            if result != "passed":
                tail = logfile.read_text(errors="replace").splitlines()[-80:]
                print("---- last %d lines of %s ----\n%s\n---- end of %s ----" % (len(tail), logfile, "\n".join(tail), label), flush=True)
        return result == "passed"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help="unit, lint, sanity, molecule, molecule:<scenario> (default: all)")
    parser.add_argument("--list", action="store_true", help="print the parts and scenarios, and stop")
    parser.add_argument("--keep-going", action="store_true", help="run every part even after one fails")
    parser.add_argument("--changed", nargs="?", const="HEAD", metavar="REV",
                        help="the inner loop: only the parts what differs from REV (default HEAD: the uncommitted changes) calls for "
                             "(tests/rig/changed.py)")
    parser.add_argument("--setup", action="store_true", help="only make the venv and link the checkout into .cache/collections")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("SPEECH_CI_JOBS", "2")),
                        help="Molecule scenarios run side by side (default 2, or SPEECH_CI_JOBS); 1 runs them one by one on the console")
    args = parser.parse_args(argv)
    if args.list:
        print("unit lint sanity molecule " + " ".join("molecule:" + scenario[0] for scenario in scenarios()))
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    if args.setup:
        ensure_venv()
        ensure_collection_link()
        log("ready: activate with `. %s/bin/activate`; ansible.cfg finds the collection in %s" % (VENV, COLLECTIONS))
        return 0
    started = time.time()
    try:
        parts = plan_parts(args.parts)
        if args.changed:
            parts = changed_parts(args.changed, parts)
    except RigError as exc:
        log(str(exc))
        return 2
    if not parts:
        log("nothing to run")
        return 0
    runner = Runner(args.keep_going)
    static = [p for p in parts if not p.startswith("molecule:")]
    molecule = [p.split(":", 1)[1] for p in parts if p.startswith("molecule:")]
    jobs = max(1, args.jobs)
    ok = runner.step("setup: virtual environment", ensure_venv) and runner.step("setup: collection path", ensure_collection_link)
    if ok:
        if jobs > 1 and molecule and len(static) + len(molecule) > 1:
            # One pool of `jobs` lanes for everything: unit, lint and sanity (mostly CPU) one after another on the
            # first lane, while the machine's setup (engine, images, support services: mostly waiting on the network
            # and debootstrap) runs here; then the scenarios, longest first, take every lane as it frees, so the
            # longest scenario starts beside unit instead of after sanity. Each part writes to .cache/logs/<part>.log.
            def run_static():
                for part in static:
                    runner.step(part, globals()["part_" + part], to_file=True)

            with ThreadPoolExecutor(max_workers=jobs) as pool:
                if static:
                    pool.submit(run_static)
                machine_ok = runner.step("setup: machine", setup_machine, molecule)
                if machine_ok:
                    for name in molecule:
                        pool.submit(runner.step, "molecule:" + name, part_molecule, name, to_file=True)
        else:
            # One lane, or a single part: one after another, on the console.
            for part in static:
                runner.step(part, globals()["part_" + part])
            if molecule and runner.step("setup: machine", setup_machine, molecule):
                for name in molecule:
                    runner.step("molecule:" + name, part_molecule, name)
        ok = not runner.failed
    results = runner.results
    print("\n==== onprem.speech test summary ====")
    for label, result, seconds in results:
        print("  %-36s %-7s %7.1f s" % (label, result, seconds))
    skipped = [p for p in parts if p not in [r[0] for r in results]]
    for label in skipped:
        print("  %-36s %-7s" % (label, "not run"))
    print("  %-36s %-7s %7.1f s" % ("total (wall clock)", "passed" if ok and not skipped else "FAILED", time.time() - started))
    return 0 if ok and not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
