"""docs/porting.md's name-coverage table is what tests/porting_table.py generates from
SpikingJelly 2.0 and spikegrad today (regenerate: ``python tests/porting_table.py --write``)."""

from __future__ import annotations

import porting_table
import sj

sj.module("monitor")  # skips this module without SpikingJelly


def test_committed_table_is_current():
    assert porting_table.committed() == porting_table.render(), (
        "docs/porting.md's name table is stale: run `python tests/porting_table.py --write`"
    )


def test_every_note_names_a_spikingjelly_name():
    names = {f"{module}.{name}" for module, rows in porting_table.coverage().items() for name, _ in rows}
    assert set(porting_table.NOTES) <= names, sorted(set(porting_table.NOTES) - names)
