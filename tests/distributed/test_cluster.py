"""Why a local Ray node did not start, read from its session's logs (no Ray needed:
the logs are written here in the formats Ray 2.60 writes them)."""

from __future__ import annotations

from agentgym.distributed.cluster import diagnose_start

# Lines of a real failed start on this machine (2026-12-03, load ~30 on 2 cores), shortened.
GCS = "[2026-12-03 07:54:23,699 I 8098 8098] (gcs_server) gcs_server_main.cc:98: Ray cluster metadata\n"
DASH = "2026-12-03 07:56:21,917\tINFO utils.py:319 -- Get all modules by type: DashboardHeadModule\n"
RAYLET = (
    "[2026-12-03 07:56:28,501 I 8417 8417] (raylet) main.cc:283: Setting cluster ID to: a221\n"
    "[2026-12-03 07:56:32,209 I 8417 8455] (raylet) agent_manager.cc:81: Monitor agent process with name dashboard_agent\n"
    "[2026-12-03 07:57:05,248 C 8417 8417] (raylet) node_manager.cc:3576:  An unexpected system state has occurred. "
    "Check failed: statussetor3576.has_value() Timed out waiting for file "
    "/tmp/ray/session_x/metrics_agent_port_5698\n"
)


def test_names_the_agent_port_wait_that_aborted_the_raylet(tmp_path):
    s = tmp_path / "session_x" / "logs"
    s.mkdir(parents=True)
    (s / "gcs_server.out").write_text(GCS)
    (s / "dashboard.log").write_text(DASH)
    (s / "raylet.out").write_text(RAYLET)
    (s / "dashboard_agent.log").write_text("")
    why = diagnose_start(s.parent)
    assert "the raylet started 125 s after the GCS" in why  # the dashboard process came first
    assert "whose first log line came 118 s after the GCS" in why
    assert "aborted after 33 s waiting for the dashboard agent's metrics_agent port file" in why
    assert "the dashboard agent wrote no log line" in why


def test_a_raylet_that_never_started_and_a_missing_session(tmp_path):
    s = tmp_path / "session_y" / "logs"
    s.mkdir(parents=True)
    (s / "gcs_server.out").write_text(GCS)
    assert "the raylet never started" in diagnose_start(s.parent)
    assert diagnose_start(tmp_path / "nope").startswith("no Ray session directory")
