from ansible_collections.onprem.speech.plugins.plugin_utils import fleet

HOST = {"cpu_model": "AMD EPYC", "avx2": True, "core_max_mhz": 2596.1, "usable_cpus": 2.0, "usable_memory_mb": 24000}
PASSED = {"passed": True, "problems": [], "host": HOST,
          "summary": {"need_cpus": 0.5, "have_cpus": 2.0, "need_memory_mb": 4608, "have_memory_mb": 24000}}
READY = [{"name": "stt-en", "kind": "stt", "state": "started", "url": "ws://h:5000", "ready": True, "api_status": "Valid"}]


def row(**hv):
    # The facts of the look are there, but the report reads only the roles' results.
    return fleet.host_row("h", dict({"ansible_facts": {"speech_host": {"cpu_model": "not read"}}}, **hv))


def done(containers=None, **more):
    return dict({"containers": containers or [], "changes": [], "failure": "", "rolled_back": False, "rollback_note": ""}, **more)


def test_outcomes():
    assert row()["outcome"] == "not checked"
    assert row(preflight_result={"passed": False, "problems": ["AVX2: ..."]})["outcome"] == "refused"
    assert row(preflight_result=PASSED, speech_containers_result=done(READY))["outcome"] == "ready"
    assert row(preflight_result=PASSED, speech_containers_result=done(READY, rolled_back=True))["outcome"] == "rolled back"
    assert row(preflight_result=PASSED, speech_containers_result=done(failure="boom"))["outcome"] == "failed"
    assert row(preflight_result=PASSED, group_names=["speech_rollout_steady"])["outcome"] == "not rolled out"
    assert row(preflight_result=PASSED, speech_containers_result=done())["outcome"] == "nothing planned"
    assert row(preflight_result=PASSED, speech_containers_result=done(READY))["outcome"] == "ready"
    dropped = row(preflight_result=PASSED)
    assert dropped["outcome"] == "dropped" and "after preflight" in dropped["outcome_text"]
    # A host lost after its results were noted (the play no longer has it) dropped out, whatever they said.
    for stage, result in (("images", None), ("rolled_out", done(READY))):
        hv = dict({"preflight_result": PASSED, "group_names": ["speech_rollout_changing"]}, **({"speech_containers_result": result} if result else {}))
        lost = fleet.host_row("h", hv, active=False)
        assert lost["outcome"] == "dropped", stage
    assert fleet.fleet_rows(["a", "b"], {"a": {"preflight_result": PASSED, "group_names": ["speech_rollout_steady"]}}, ["b"])[0]["outcome"] == "dropped"
    assert fleet.host_row("h", {"preflight_result": PASSED, "speech_containers_result": done(failure="boom")}, active=False)["outcome"] == "failed"
    not_ready = [dict(READY[0], ready=False)]
    assert row(preflight_result=PASSED, speech_containers_result=done(not_ready))["outcome"] == "failed"


def test_a_host_whose_batch_is_about_to_start_is_in_its_rollout_until_it_has_a_result():
    """The report written before each rollout batch; it stays on disk when the run stops in the batch."""
    waiting = {"preflight_result": PASSED, "group_names": ["speech_configured", "speech_rollout_changing"]}
    rolling = fleet.host_row("h", waiting, rolling=True)
    assert rolling["outcome"] == "in rollout" and "what the host serves is unknown" in rolling["outcome_text"]
    assert fleet.host_row("h", waiting)["outcome"] == "not rolled out"
    # Only a host not rolled out yet: a refused, a failed or a rolled-out host keeps its outcome.
    assert fleet.host_row("h", dict(waiting, speech_containers_result=done(READY)), rolling=True)["outcome"] == "ready"
    assert fleet.host_row("h", {"preflight_result": {"passed": False}}, rolling=True)["outcome"] == "refused"
    assert fleet.host_row("h", waiting, active=False, rolling=True)["outcome"] == "dropped"
    rows = fleet.fleet_rows(["a", "b"], {"a": waiting, "b": waiting}, rolling=["b"])
    assert [r["outcome"] for r in rows] == ["not rolled out", "in rollout"]
    assert "in its rollout batch" in "\n".join(fleet.fleet_table(rows))


def test_stage_from_the_roles_results():
    """How far a host got comes from the roles' results, and the groups site.yml sorts hosts into."""
    assert fleet.host_stage({}) is None
    assert fleet.host_stage({"preflight_result": {"passed": False}, "gstreamer_result": {}}) is None
    assert fleet.host_stage({"preflight_result": PASSED}) == "checked"
    configured = ["speech_hosts", "speech_configured"]
    assert fleet.host_stage({"preflight_result": PASSED, "docker_result": {}, "gstreamer_result": {}, "group_names": configured}) == "configured"
    assert fleet.host_stage({"preflight_result": PASSED, "gstreamer_result": {}, "group_names": ["speech_hosts", "speech_rollout_steady"]}) == "images"
    assert fleet.host_stage({"preflight_result": PASSED, "group_names": ["speech_rollout_changing"], "speech_containers_result": done()}) == "rolled_out"
    dropped = row(preflight_result=PASSED, docker_result={}, gstreamer_result={}, group_names=configured)
    assert dropped["outcome"] == "dropped" and "after Docker and GStreamer" in dropped["outcome_text"]
    # A host whose role noted its result with no container (Docker and GStreamer only), no note needed.
    assert row(preflight_result=PASSED, gstreamer_result={}, speech_containers_result=done())["outcome"] == "nothing planned"


def test_a_host_compared_but_not_yet_configured_is_only_checked():
    """site.yml's comparison notes the docker and gstreamer roles' results for every host before anything is
    installed; a host lost in the configure play got no further than preflight's check."""
    compared = {"preflight_result": PASSED, "docker_result": {"changed": True}, "gstreamer_result": {"changed": True},
                "group_names": ["speech_hosts", "speech_converge_changing"]}
    assert fleet.host_stage(compared) == "checked"
    # A host the comparison found steady is configured and has its images (its group's parents).
    steady = dict(compared, group_names=["speech_hosts", "speech_converge_steady", "speech_configured", "speech_rollout_steady"])
    assert fleet.host_stage(steady) == "images"


def test_row_numbers_and_table():
    r = row(preflight_result=PASSED, speech_containers_result=done(READY))
    assert (r["cpus_need"], r["cpus_have"], r["memory_need_mb"], r["memory_have_mb"]) == (0.5, 2.0, 4608, 24000)
    assert fleet.percent(r["cpus_need"], r["cpus_have"]) == 25 and fleet.percent(5, 0) == 0
    lines = fleet.fleet_table([r, row(preflight_result={"passed": False, "problems": ["x"]})])
    assert lines[1].split() == ["h", "stt-en", "stt", "ws://h:5000", "yes", "Valid"]
    assert "refused by preflight" in lines[2]


def test_rows_for_hosts_missing_from_hostvars():
    assert fleet.fleet_rows(["gone"], {})[0]["outcome"] == "not checked"


def test_rows_say_what_each_role_changed():
    r = row(preflight_result=PASSED, speech_containers_result=done(READY, changes=[{"name": "stt-en", "action": "replace"}]),
            docker_result={"reasons": ["daemon_json: /etc/docker/daemon.json: content differs"]}, gstreamer_result={"reasons": []})
    assert r["changes"] == ["docker: daemon_json: /etc/docker/daemon.json: content differs", "speech_containers: stt-en replace"]
    assert r["cpu_model"] == "AMD EPYC"


def test_host_pattern():
    assert fleet.host_pattern("speech_hosts") == "speech_hosts"
    assert fleet.host_pattern(" speech_hosts:&site_a ") == "speech_hosts:&site_a"
    for bad in ({"a": 1}, ["a"], "", " ", None, True):
        try:
            fleet.host_pattern(bad, "speech_gateways")
        except ValueError as error:
            assert str(error).startswith("speech_gateways: give a host pattern"), error
        else:
            raise AssertionError(bad)


def test_a_rollout_stops_before_a_batch_when_hosts_lost_in_earlier_batches_are_above_the_share():
    """Ansible counts only failed hosts against max_fail_percentage; a host lost in its batch (unreachable) must stop
    the rollout too, before the next batch."""
    hosts = ["h1", "h2", "h3", "h4"]
    # serial 2: h1 lost in the first batch, h2 went through; before the second batch.
    lost = fleet.rollout_lost(hosts, ["h2", "h3", "h4"], ["h3", "h4"], 0)
    assert lost == {"stop": True, "left": ["h1"], "done": 2, "share": 50.0}
    # The same share is allowed at 50 % (above it stops, as Ansible's own check).
    assert not fleet.rollout_lost(hosts, ["h2", "h3", "h4"], ["h3", "h4"], 50)["stop"]
    assert fleet.rollout_lost(hosts, ["h2", "h3", "h4"], ["h3", "h4"], "49")["stop"]
    # The first batch has nothing before it; a batch after clean ones goes on.
    assert fleet.rollout_lost(hosts, hosts, ["h1", "h2"], 0) == {"stop": False, "left": [], "done": 0, "share": 0.0}
    assert not fleet.rollout_lost(hosts, hosts, ["h3", "h4"], 0)["stop"]
    # A value the play keyword would not take counts as 0 (preflight refuses it before the run gets here).
    assert fleet.rollout_lost(hosts, ["h2", "h3", "h4"], ["h4"], "lots")["stop"]


def test_a_host_that_failed_in_its_batch_before_the_role_noted_a_result_reads_failed_with_the_cause():
    """site.yml's rollout rescue notes the failure (speech_rollout_failure): a task before the change failed, or the
    host's connection broke mid-task (a stopped test host under pipelining). It was reported "not rolled out (the
    rollout stopped before this host's batch)", which is false: its batch ran, and failed."""
    waiting = {"preflight_result": PASSED, "group_names": ["speech_configured", "speech_rollout_changing"]}
    failed = fleet.host_row("h", dict(waiting, speech_rollout_failure="Container 060c is not running"))
    assert failed["outcome"] == "failed"
    assert failed["failure"] == "Container 060c is not running"
    # The role's own failure, when it noted one, is what the row shows.
    both = fleet.host_row("h", dict(waiting, speech_rollout_failure="x", speech_containers_result=done(failure="boom")))
    assert both["outcome"] == "failed" and both["failure"] == "boom"


def test_the_journal_entry_says_what_changed_and_why_with_no_secret():
    key = "0123456789abcdef0123456789abcdef"
    hv = {"inventory_hostname": "h", "preflight_result": PASSED, "group_names": ["speech_configured", "speech_rollout_changing"],
          "speech_containers_api_key": key,
          "docker_result": {"reasons": ["daemon_json: /etc/docker/daemon.json: content differs"]},
          "speech_containers_result": done(READY, changes=[{"name": "stt-en", "action": "replaced", "reason": "cpus 0.25 -> 0.5"}])}
    entry = fleet.journal_entry(hv)
    assert entry["changes"] == ["docker: daemon_json: /etc/docker/daemon.json: content differs", "stt-en: replaced (cpus 0.25 -> 0.5)"]
    assert entry["result"] == "every container ready" and "failure" not in entry
    failed = fleet.journal_entry(dict(hv, speech_containers_result=done(failure="status said Invalid for ApiKey=" + key)),
                                 secrets=[key])
    assert failed["failure"] == "status said Invalid for ApiKey=<hidden>" and key not in str(failed)


def test_the_report_shows_this_runs_journal_else_what_the_look_read():
    entry = {"at": "2026-12-07T10:00:00Z", "by": "run", "user": "alice", "controller": "ctl", "playbook": "site.yml",
             "changes": ["tts: replaced (cpus 0.25 -> 0.5)"], "result": "every container ready"}
    guard = {"at": "2026-12-07T11:00:00Z", "by": "guard", "containers": ["tts"], "actions": [{"name": "tts", "action": "restored"}],
             "result": "put back", "why": "the run that replaced them did not confirm the successors ready within 440 s"}
    looked = dict(PASSED, journal=[entry])
    assert row(preflight_result=looked)["journal"] == ["2026-12-07T10:00:00Z alice@ctl (site.yml): tts: replaced (cpus 0.25 -> 0.5); every container ready"]
    released = row(preflight_result=looked, speech_lock_released={"journal": [entry, guard]})["journal"]
    assert released[-1] == ("2026-12-07T11:00:00Z the host's guard: tts restored; put back (the run that replaced them did not confirm "
                            "the successors ready within 440 s)")
