"""The call structure shared by the accelerator tables (dot.py, read_buf.py): each ecall owns a contiguous run of
rows that begins with a `start` row and ends with a `last` row, real rows first, padding after.

Soundness: a call's rows are contiguous and begin with a start row, which receives the CPU's call exactly once
(each table's own bus receive, multiplicity `start`); rows no ecall asked for would need a start row whose
receive no CPU send balances, or would continue a call whose length they then exceed (each table's length
constraints). The caller constrains is_real/start/last to be boolean and start/last to be real rows."""

from __future__ import annotations


def constrain_calls(t, is_real, start, last):
    """Emit the call-structure constraints on table `t`; return `inside` = 1 on a real row that is not its call's
    last (the rows whose successor belongs to the same call)."""
    inside = is_real - last
    t.first("first_starts", start - is_real)
    t.transition("real_prefix", is_real.next * (1 - is_real))
    t.transition("call_continues", inside * (1 - is_real.next))
    t.transition("no_start_inside", inside * start.next)
    t.transition("start_after_last", last * is_real.next * (1 - start.next))
    t.last("table_ends_call", is_real - last)
    return inside
