"""The correlation ids the API gives requests that sent none: unique, in this process and in a forked one."""

from __future__ import annotations

import os
import re

from api.middleware import _correlation_ids


def test_fresh_ids_are_32_hex_digits_and_never_repeat() -> None:
    ids = [_correlation_ids.next() for _ in range(10_000)]

    assert all(re.fullmatch(r"[0-9a-f]{32}", given) for given in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_process_does_not_repeat_its_parents_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first ids, to the parent
        os.close(read)
        os.write(write, " ".join(_correlation_ids.next() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = set(pipe.read().split())
    os.waitpid(pid, 0)
    parents = {_correlation_ids.next() for _ in range(100)}

    assert len(childs) == 100
    assert not childs & parents
