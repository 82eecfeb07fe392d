"""A real `reporter serve` process on a free port of 127.0.0.1, while another process appends to the logs.

Waits poll with a deadline (changes arrive within a fraction of a second, but the machine is shared);
nothing here asserts how fast.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error

import pytest

from tests.helpers import clean_env
from tests.logwriting import end, metric, param, write_experiment, write_run
from tests.serving import EventStream, Server, append_from_another_process, free_port, serve_one_run, wait_for

EXP = "live-00000004"
RUN = "a" * 32


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    server = serve_one_run(tmp, EXP, RUN, [param("lr", 0.1), metric("loss", 1.0, 0)])
    yield server
    assert server.stop() == 0, server.text()


def page_shows(server: Server, path: str, text: str):
    return lambda: text in server.get(path)


def test_an_append_changes_the_run_page_and_tells_open_pages(served):
    stream = EventStream(served.url)
    try:
        run_file = served.logs / EXP / RUN / "run.jsonl"
        append_from_another_process(run_file, metric("loss", 0.123456, 1))
        wait_for(page_shows(served, f"runs/{RUN}/index.html", "0.123456"), "the run page to show the new value")
        data = stream.wait_for("reload", lambda d: f"runs/{RUN}/index.html" in d["paths"])
        assert "runs-data.js" in data["paths"]  # the all-runs table of the home and compare pages
    finally:
        stream.close()


def test_the_reload_script_is_served_but_never_written_to_disk(served):
    html = served.get(f"runs/{RUN}/index.html")
    assert "/__flowsheet__/reload.js" in html
    assert html.rstrip().endswith("</html>")
    for page in served.out_dir.rglob("*.html"):
        assert "__flowsheet__" not in page.read_text(encoding="utf-8"), page
    assert "EventSource" in served.get("__flowsheet__/reload.js")
    with pytest.raises(urllib.error.HTTPError) as info:
        served.get(".flowsheet-site")  # the marker and temporary files are not served
    assert info.value.code == 404


def test_a_new_run_appears_on_its_experiment_page(served):
    new_run = "b" * 32
    write_run(served.logs / EXP, new_run, [metric("loss", 3.0, 0), end()], name="second-attempt")
    wait_for(page_shows(served, f"experiments/{EXP}/runs-data.js", "second-attempt"),
             "the experiment's runs table to list the new run")
    assert "2 runs" in served.get(f"experiments/{EXP}/index.html")
    assert "second-attempt" in served.get(f"runs/{new_run}/index.html")


def test_a_new_experiment_appears_on_the_home_page(served):
    folder = write_experiment(served.logs, "brand-new-experiment", experiment_id="brand-new-0000000a")
    write_run(folder, "c" * 32, [metric("acc", 0.5, 0)], name="first")
    wait_for(page_shows(served, "index.html", "brand-new-experiment"), "the home page to list the new experiment")
    assert "brand-new-experiment" in served.get("experiments/brand-new-0000000a/index.html")


def test_a_broken_template_keeps_the_last_good_site_and_a_fix_recovers(served):
    run_page = f"runs/{RUN}/index.html"
    run_file = served.logs / EXP / RUN / "run.jsonl"
    template = served.templates / "run.html"
    good_template = template.read_text(encoding="utf-8")
    stream = EventStream(served.url)
    try:
        template.write_text(good_template.replace("{% endblock %}", "{% endblock %}{{ oops(", 1), encoding="utf-8")
        error = stream.wait_for("build-error")
        assert "run.html" in error["message"]
        wait_for(lambda: "rebuild failed" in served.text(), "the error in the terminal")
        before = served.get(run_page)
        append_from_another_process(run_file, metric("loss", 0.0078125, 2))
        stream.wait_for("build-error")  # the next rebuild fails too
        assert served.text().count("rebuild failed") == 1  # the same failure is told once, not once per rebuild
        # The last good page is still served, complete and without the new value.
        assert served.get(run_page) == before and "0.0078125" not in before
        # A page opened now learns about the failure at once.
        late = EventStream(served.url)
        try:
            assert "run.html" in late.wait_for("build-error")["message"]
        finally:
            late.close()

        template.write_text(good_template, encoding="utf-8")
        stream.wait_for("build-ok")
        wait_for(page_shows(served, run_page, "0.0078125"), "the fixed template to render the new value")
    finally:
        template.write_text(good_template, encoding="utf-8")
        stream.close()


def test_ctrl_c_exits_0_and_leaves_no_threads_or_temporary_files(tmp_path):
    logs = tmp_path / "runs"
    write_run(write_experiment(logs, "live", experiment_id=EXP), RUN, [metric("loss", 1.0, 0)])
    server = Server(tmp_path, logs)
    server.wait_ready()
    stream = EventStream(server.url)  # an open page: its stream must not keep the server alive
    try:
        assert server.get("index.html")
        code = server.stop()
        assert stream.wait_for("closed") == {}  # the server ended the stream
    finally:
        stream.close()
    assert code == 0, server.text()
    assert "Stopped." in server.text() and "Traceback" not in server.text()
    assert not [p for p in (tmp_path / "site").rglob("*") if p.name.startswith(".tmp")]
    assert (tmp_path / "site" / "index.html").is_file()


def test_a_taken_port_gives_one_clear_line_and_a_suggestion(tmp_path):
    logs = tmp_path / "runs"
    write_run(write_experiment(logs, "live", experiment_id=EXP), RUN, [metric("loss", 1.0, 0)])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "reporter", "serve", str(logs), "-o", str(tmp_path / "site"),
                               "--port", str(port)], cwd=tmp_path, env=clean_env(), capture_output=True,
                              text=True, timeout=60)
    assert done.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "--port " in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_foreign_output_folder_is_refused(tmp_path):
    logs = tmp_path / "runs"
    write_run(write_experiment(logs, "live", experiment_id=EXP), RUN, [metric("loss", 1.0, 0)])
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    done = subprocess.run([sys.executable, "-m", "reporter", "serve", str(logs), "-o", str(mine),
                           "--port", str(free_port())], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "--force" in done.stderr
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]



# ------------------------------------------------------------------------------ pure parts, in-process


def test_inject_script_goes_before_the_last_body_end_or_at_the_end():
    from reporter.live.server import SCRIPT_TAG, inject_script

    page = b"<html><body><p>&lt;/body&gt; in text</p></BODY></html>"
    out = inject_script(page)
    assert out == b"<html><body><p>&lt;/body&gt; in text</p>" + SCRIPT_TAG + b"</BODY></html>"
    assert inject_script(b"<p>fragment</p>") == b"<p>fragment</p>" + SCRIPT_TAG


def test_event_hub_tells_newcomers_about_a_failure_until_it_is_fixed_and_close_ends_every_stream():
    from reporter.live.server import EventHub

    hub = EventHub()
    early = hub.subscribe()
    hub.publish("build-error", {"message": "template error"})
    assert early.get_nowait() == ("build-error", {"message": "template error"})
    late = hub.subscribe()
    assert late.get_nowait() == ("build-error", {"message": "template error"})
    hub.publish("build-ok", {})
    assert hub.subscribe().empty()
    hub.close()
    assert late.get_nowait() == ("build-ok", {}) and late.get_nowait() is None
    assert hub.subscribe().get_nowait() is None
