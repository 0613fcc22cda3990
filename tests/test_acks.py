"""Acknowledgements: what each collector is done with survives between deliveries, and only that."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import spool_events, spool_of, with_id

from testkube_telemetry_plugin.telemetry import acks


def journal(home: Path) -> Path:
    return home / "telemetry" / "spool" / ".acks"


def test_a_delivery_cut_short_resumes_where_it_stopped_and_sends_nothing_twice(isolated, collector, cli,
                                                                               runner) -> None:
    with_id(isolated)
    ids = spool_events(isolated, 600, pad=1500)  # four segments, six or more batches
    assert len(spool_of(isolated).files()) >= 2
    collector.plan(*[("status", 200)] * 4, *[("status", 503, {"Retry-After": "0"})] * 3)
    first = runner.invoke(cli, ["telemetry", "flush"])
    assert first.exit_code == 1, first.output
    delivered = [m["messageId"] for m in collector.messages()]
    assert len(delivered) == 400
    lines = journal(isolated).read_bytes().splitlines()
    assert lines and all(len(line.split(b"\t")) == 3 for line in lines)
    # The second run starts from the journal: the 200 left, once each.
    second = runner.invoke(cli, ["telemetry", "flush"])
    assert second.exit_code == 0, second.output
    everything = [m["messageId"] for m in collector.messages()]
    assert sorted(everything) == sorted(ids)
    assert len(everything) == len(set(everything))
    assert spool_of(isolated).entries() == []


def test_the_journal_appends_between_compactions_and_reads_back_as_written(isolated, monkeypatch) -> None:
    with_id(isolated)
    spool_events(isolated, 300, pad=1500)
    spool = spool_of(isolated)
    spool.rotate()
    entries = spool.entries(include_current=False)
    monkeypatch.setattr(acks, "COMPACT_BYTES", 300)
    sizes = []
    for start in range(0, len(entries) - 1, 7):  # one sink goes 7 records at a time; the other never does
        spool.acknowledge("segment", entries[start:start + 7], ["segment", "ga4"])
        sizes.append(journal(isolated).stat().st_size)
        expected = {}
        for entry in entries[:start + 7]:
            expected[entry.file] = {"segment": entry.index + 1}
        assert spool.acked() == expected  # a fresh reader sees exactly what was acknowledged
    assert any(later > earlier for earlier, later in zip(sizes, sizes[1:]))  # appended...
    assert any(later < earlier for earlier, later in zip(sizes, sizes[1:]))  # ...and compacted
    assert max(sizes) < 300 + 200
    # The other collector still has every record to send; none was lost.
    assert len(spool.pending_for("ga4", include_current=False)) == len(entries)


def test_lines_a_delivery_did_not_write_acknowledge_nothing() -> None:
    written = b"segment\tseg-1-a\t3\nga4\tseg-1-a\t2\nsegment\tseg-1-a\t5\n"
    assert acks.parse(written) == {"seg-1-a": {"segment": 5, "ga4": 2}}  # the highest count wins
    for planted in (b"segment\tseg-1-a\t7",  # torn: no newline yet
                    b"segment\tseg-1-a\t" + b"9" * 40 + b"\n",
                    b"segment\tseg-1-a\t-3\n", b"segment\tseg-1-a\n", b"segment\tseg-1-a\t1\t2\n",
                    b"\xff\tseg-1-a\t9\n", b"segment\t\t9\n", b"segment\tseg\x01\t9\n", b'{"seg-1-a": {"ga4": 9}}'):
        assert acks.parse(written + planted) == {"seg-1-a": {"segment": 5, "ga4": 2}}, planted


def test_a_segment_whose_name_cannot_be_journalled_is_removed_unread(isolated) -> None:
    spool_events(isolated, 2)
    folder = isolated / "telemetry" / "spool"
    planted = folder / "seg-1\tsegment\t9"
    planted.write_text('1\t{"v": 1}\n')
    spool = spool_of(isolated)
    assert planted.name not in spool.files()
    assert not planted.exists()
    assert len(spool.entries()) == 2


def test_a_second_collector_costs_no_second_reading_of_the_spool(tmp_path, collector, cli, runner,
                                                                  monkeypatch) -> None:
    from testkube_telemetry_plugin import _fs as safefs

    reads: list[str] = []
    real_read = safefs.read_bytes

    def counting(path: str, limit: int) -> bytes:
        if Path(path).name.startswith("seg-"):
            reads.append(path)
        return real_read(path, limit)

    monkeypatch.setattr(safefs, "read_bytes", counting)

    def flush_with(collectors: int) -> int:
        home = tmp_path / f"home-{collectors}"
        monkeypatch.setenv("TESTKUBE_HOME", str(home))
        if collectors == 2:
            monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", collector.url + "/mp/collect")
            monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
        with_id(home)
        ids = spool_events(home, 400, pad=1500)  # two full segments and `current`
        reads.clear()
        assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
        assert set(ids) <= {m["messageId"] for m in collector.messages()}
        assert spool_of(home).entries() == []
        return len(reads)

    one = flush_with(1)
    assert flush_with(2) == one
    assert len(collector.ga_events()) == 400


def test_acknowledgements_written_before_the_journal_still_count(isolated, collector, two_sinks, cli,
                                                                 runner) -> None:
    """An upgrade in the middle of a delivery: what the old `.acks` (JSON) says was sent is not sent again."""
    import json

    with_id(isolated)
    ids = spool_events(isolated, 30)
    spool = spool_of(isolated)
    spool.rotate()
    (segment,) = spool.files()
    journal(isolated).write_text(json.dumps({segment: {"segment": 30}, "seg-gone": {"ga4": 3}}))
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 0, result.output
    assert collector.messages() == []  # Segment had them all
    assert sorted(e["params"]["n"] for e in collector.ga_events()) == list(range(30))
    assert spool_of(isolated).entries() == [] and len(ids) == 30


@pytest.mark.parametrize("planted", ["symlink", "folder"])
def test_an_acks_file_that_cannot_be_written_stops_delivery_before_anything_is_sent(
        isolated, collector, cli, runner, tmp_path, planted) -> None:
    with_id(isolated)
    spool_events(isolated, 30)
    path = journal(isolated)
    target = tmp_path / "elsewhere"
    target.write_text("the user's file\n")
    path.unlink(missing_ok=True)
    if planted == "symlink":
        path.symlink_to(target)
    else:
        path.mkdir()
    for _ in range(2):  # and nothing is sent again and again
        result = runner.invoke(cli, ["telemetry", "flush"])
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Delivery stopped: ") and ".acks" in lines[0], lines
        # Why, in the user's terms: not an errno and the name of a temporary file they never saw.
        assert ("is a symbolic link" if planted == "symlink" else "is a folder") in lines[0], lines
        assert ".tmp" not in lines[0] and "Errno" not in lines[0], lines
    assert collector.accepted() == []
    assert target.read_text() == "the user's file\n"
    assert path.is_symlink() if planted == "symlink" else path.is_dir()
    assert len(spool_of(isolated).entries()) == 30


def test_a_folder_named_like_a_segment_is_skipped_by_every_command(isolated, collector, cli, runner) -> None:
    with_id(isolated)
    ids = spool_events(isolated, 3)
    planted = isolated / "telemetry" / "spool" / "seg-00000000000000000001-abcdef"
    planted.mkdir()
    (planted / "x").write_text("not ours")
    for args in (["telemetry", "status"], ["telemetry", "show"], ["telemetry", "flush"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0 and result.exception is None, (args, result.output)
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(ids)
    assert (planted / "x").read_text() == "not ours"


def test_a_segment_replaced_on_disk_between_two_readings_is_read_again(isolated) -> None:
    """What one collector's pass read is kept for the next, unless the file is no longer the same."""
    spool_events(isolated, 3)
    spool = spool_of(isolated)
    spool.rotate()
    (segment,) = spool.files()
    assert [spool.load(e)["events"][0]["properties"]["n"] for e in spool.entries()] == [0, 1, 2]
    path = isolated / "telemetry" / "spool" / segment
    longer = path.read_bytes() + b"".join(path.read_bytes().splitlines(keepends=True)[:2])
    replacement = path.with_name("replacement")
    replacement.write_bytes(longer)
    replacement.replace(path)
    assert [spool.load(e)["events"][0]["properties"]["n"] for e in spool.entries()] == [0, 1, 2, 0, 1]


def test_the_journal_forgets_segments_that_are_gone(isolated, collector, two_sinks,
                                                    cli, runner) -> None:
    with_id(isolated)
    for _ in range(20):  # twenty deliveries, each of its own segment, to two collectors
        spool_events(isolated, 2)
        assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    assert len(collector.messages()) == len(collector.ga_events()) == 40
    assert spool_of(isolated).files() == []
    assert len(acks.read(str(journal(isolated)))) <= 1  # at most the last delivery's, never one per delivery
    assert journal(isolated).stat().st_size < 200


def test_a_hard_linked_current_keeps_its_records_and_the_other_name_is_untouched(isolated, tmp_path) -> None:
    ids = spool_events(isolated, 5)
    backup = tmp_path / "backup-current"  # as `cp -al` leaves a snapshot of the home
    os.link(isolated / "telemetry" / "spool" / "current", backup)
    before = backup.read_bytes()
    ids += spool_events(isolated, 1)
    spool = spool_of(isolated)
    assert [spool.load(e)["events"][0]["messageId"] for e in spool.entries()] == ids
    assert backup.read_bytes() == before
