"""The rebuild-modules report: its JSON document and its table."""

import json

from sunray.modules.results import ModuleRow, ModulesReport


def test_json_has_one_entry_per_pair_and_a_log_tail_only_when_failed():
    report = ModulesReport(root="/srv", pairs=[
        ModuleRow("6.1.0-57-amd64", "utio", "built", 1.234, "/srv/var/log/x/utio.log"),
        ModuleRow("6.1.0-57-amd64", "utdisk", "failed", 2.0, "/l/utdisk.log", "make exited 2",
                  ["error: here"]),
    ])
    doc = json.loads(json.dumps(report.to_dict()))
    assert list(doc) == ["task", "root", "dry_run", "changed", "seconds", "pairs", "settled",
                         "notes", "warnings", "failure"]
    assert doc["task"] == "rebuild-modules" and doc["changed"] is True
    assert doc["pairs"][0] == {"kernel": "6.1.0-57-amd64", "module": "utio", "status": "built",
                               "seconds": 1.23, "log": "/srv/var/log/x/utio.log", "detail": None}
    assert doc["pairs"][1]["log_tail"] == ["error: here"]


def test_text_is_a_table_then_the_failed_logs_tails():
    report = ModulesReport(pairs=[
        ModuleRow("6.1.0-57-amd64", "utio", "up to date", log="/l/utio.log"),
        ModuleRow("6.1.0-57-amd64", "utdisk", "failed", 2.0, "/l/utdisk.log", "make exited 2",
                  ["error: here"]),
    ])
    lines = report.to_text().splitlines()
    assert lines[0].split() == ["KERNEL", "MODULE", "STATUS", "SECONDS", "LOG", "/", "DETAIL"]
    assert lines[1].split() == ["6.1.0-57-amd64", "utio", "up", "to", "date", "-", "/l/utio.log"]
    assert lines[2].split()[-3:] == ["make", "exited", "2"] and "2.0" in lines[2]
    assert lines[-3:] == ["--- utdisk for 6.1.0-57-amd64 failed: make exited 2",
                          "--- last 1 lines of /l/utdisk.log:", "error: here"]
    assert not report.changed
    assert ModulesReport().to_text() == "no kernel with headers, nothing to build"


def test_a_finished_index_counts_as_a_change():
    report = ModulesReport(pairs=[ModuleRow("6.1.0-57-amd64", "utio", "up to date")],
                           settled=["6.1.0-57-amd64"])
    assert report.to_dict()["changed"] is True
    assert "6.1.0-57-amd64: modules current; depmod checked and the record finished" \
        in report.to_text()
