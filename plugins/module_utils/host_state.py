# -*- coding: utf-8 -*-
# Copyright (c) onprem.speech contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection keeps on a host about its own runs, in one root-only directory (STATE_DIR):

  lock.json       the run that is changing the host now (controller, user, process, start, playbook);
  journal.jsonl   one line per run that changed the host, and per thing the host's guard did: when, who
                  (controller user and host), what changed and why, the result; never a secret;
  ready.json      per container name, the container last proven ready (its id, image, when, which run);
  guard-*.json    an armed guard: a replace whose successor is not proven ready yet (module_utils/guard.py).

Standard library only; every write is atomic (a temporary file renamed into place), every file 0600 in a 0700
directory. Nothing here decides anything: the lock's rules are acquire()'s, the guard's are guard.py's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import time

STATE_DIR = "/var/lib/onprem-speech/state"
LOCK_FILE = "lock.json"
JOURNAL_FILE = "journal.jsonl"
READY_FILE = "ready.json"
GUARD_PREFIX = "guard-"
# How many journal entries a look reads back (the fleet report shows them).
JOURNAL_TAIL = 5
# The journal is cut to its newest entries past this many bytes.
JOURNAL_MAX_BYTES = 1024 * 1024


def ensure_dir(state_dir):
    """Make the directory (0700, root's) if it is missing, and keep its mode."""
    try:
        os.makedirs(state_dir, 0o700)
    except OSError as error:
        if error.errno != errno.EEXIST:
            raise
    os.chmod(state_dir, 0o700)


def read_json(path):
    """The file's JSON, or None when it is missing or unreadable (a file being replaced is never half-read: writes rename)."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def write_json(path, data):
    """Write JSON atomically, 0600."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(data, sort_keys=True).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


# ------------------------------------------------------------------ the journal

def journal_append(state_dir, entry, now=time.time):
    """Add one entry (a dict with no secret in it) to the journal, with its time; keeps the journal under JOURNAL_MAX_BYTES."""
    ensure_dir(state_dir)
    path = os.path.join(state_dir, JOURNAL_FILE)
    record = dict(entry)
    record.setdefault("at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now())))
    line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)
    try:
        if os.path.getsize(path) > JOURNAL_MAX_BYTES:
            with open(path, "rb") as handle:
                lines = handle.read().splitlines(True)
            keep = []
            size = 0
            for kept in reversed(lines):
                size += len(kept)
                if size > JOURNAL_MAX_BYTES // 2:
                    break
                keep.append(kept)
            tmp = path + ".tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"".join(reversed(keep)))
            finally:
                os.close(fd)
            os.rename(tmp, path)
    except (IOError, OSError):
        pass
    return record


def journal_tail(state_dir, count=JOURNAL_TAIL):
    """The last `count` entries, oldest first ([] when there is no journal)."""
    path = os.path.join(state_dir, JOURNAL_FILE)
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return []
    entries = []
    for line in lines[-count:]:
        try:
            entries.append(json.loads(line.decode("utf-8", "replace")))
        except ValueError:
            continue
    return entries


# ------------------------------------------------------------------ the ready record

def ready_record(state_dir):
    """{container name: {id, image, at, run}} of the containers last proven ready ({} when none was recorded)."""
    found = read_json(os.path.join(state_dir, READY_FILE))
    return found if isinstance(found, dict) else {}


def record_ready(state_dir, entries, run=None, now=time.time):
    """Note containers as proven ready: entries {name: {id, image}}."""
    ensure_dir(state_dir)
    record = ready_record(state_dir)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now()))
    for name, entry in entries.items():
        record[name] = dict(entry, at=stamp, run=run)
    write_json(os.path.join(state_dir, READY_FILE), record)
    return record


# ------------------------------------------------------------------ the lock

class LockHeld(Exception):
    """Another run holds the host's lock: its holder (controller, user, pid, started, playbook, run)."""

    def __init__(self, holder):
        self.holder = holder
        Exception.__init__(self, "held by " + describe_holder(holder))


def describe_holder(holder):
    holder = holder or {}
    return "%s@%s (process %s, playbook %s, since %s)" % (holder.get("user") or "?", holder.get("controller") or "?", holder.get("pid") or "?",
                                                          holder.get("playbook") or "?", holder.get("started_at") or "?")


def lock_holder(state_dir):
    return read_json(os.path.join(state_dir, LOCK_FILE))


def acquire(state_dir, holder, max_age, take_over=None, now=time.time):
    """Take the host's lock for `holder` ({run, controller, user, pid, started, started_at, playbook}).

    Returns {"held": holder, "taken_over": the previous holder or None, "why": why it was taken over}. The lock is
    taken over when it is this run's already, when its holder started more than max_age seconds ago, or when
    take_over names its run (the controller found its process gone, or the operator broke it); else LockHeld.
    Creating the file is atomic (O_EXCL), and so is taking one over (the old file renamed away first: of two runs
    that try at once, one wins)."""
    ensure_dir(state_dir)
    path = os.path.join(state_dir, LOCK_FILE)
    for _attempt in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
            current = read_json(path)
            if current is None:
                # Unreadable: being written this instant, or torn by a crash. Give a writer a moment.
                time.sleep(0.2)
                current = read_json(path)
            why = None
            if isinstance(current, dict) and current.get("run") == holder.get("run"):
                return {"held": current, "taken_over": None, "why": None}
            if current is None:
                why = "the lock file was unreadable"
            elif take_over and current.get("run") == take_over.get("run"):
                why = take_over.get("why") or "taken over"
            elif max_age and now() - float(current.get("started") or 0) > max_age:
                why = "its holder started more than %d s ago" % max_age
            if why is None:
                raise LockHeld(current)
            aside = "%s.taken-over-%d" % (path, os.getpid())
            try:
                os.rename(path, aside)
            except OSError as error:
                if error.errno == errno.ENOENT:
                    continue  # another run took it over first: try again from the top
                raise
            try:
                os.unlink(aside)
            except OSError:
                pass
            result = _create(path, holder)
            if result is None:
                continue
            return {"held": holder, "taken_over": current, "why": why}
        else:
            try:
                os.write(fd, json.dumps(holder, sort_keys=True).encode("utf-8"))
            finally:
                os.close(fd)
            return {"held": holder, "taken_over": None, "why": None}
    raise LockHeld(lock_holder(state_dir) or {})


def _create(path, holder):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        if error.errno == errno.EEXIST:
            return None
        raise
    try:
        os.write(fd, json.dumps(holder, sort_keys=True).encode("utf-8"))
    finally:
        os.close(fd)
    return holder


def release(state_dir, run):
    """Give the lock back when this run holds it; True when it did."""
    path = os.path.join(state_dir, LOCK_FILE)
    current = read_json(path)
    if not isinstance(current, dict) or current.get("run") != run:
        return False
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


# ------------------------------------------------------------------ what a look reads

def summary(state_dir):
    """What the look reports of the host's state: the lock's holder, the ready record, the armed guards, the journal's tail."""
    guards = []
    try:
        names = sorted(n for n in os.listdir(state_dir) if n.startswith(GUARD_PREFIX) and n.endswith(".json"))
    except OSError:
        names = []
    for name in names:
        armed = read_json(os.path.join(state_dir, name))
        if isinstance(armed, dict):
            guards.append(dict((k, armed.get(k)) for k in ("run", "armed_at", "deadline", "items")))
    return {"lock": lock_holder(state_dir), "ready": ready_record(state_dir), "guards": guards, "journal": journal_tail(state_dir)}
