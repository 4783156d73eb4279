"""rayreact's own answers in get_runtime_context() where Ray's depend on its cluster (GCS,
session directory), and its ID objects (compat_tests/test_runtime_context.py checks the
rest against Ray)."""

import os
import pickle
import tempfile

from rayreact._private import api
from rayreact._private.ids import JobID, NodeID, PlacementGroupID, TaskID


def test_no_gcs_address_a_temp_dir_and_the_session_name(rr):
    ctx = rr.get_runtime_context()
    assert ctx.gcs_address is None  # no GCS: no cluster address to connect to
    assert ctx.get_temp_dir() == os.path.join(tempfile.gettempdir(), "rayreact")
    assert os.path.isdir(ctx.get_temp_dir())
    assert ctx.get_session_name() == f"session_{api._rt.session}"


def test_ids_compare_by_type_and_value_and_pickle():
    job = JobID("01000000")
    assert job == JobID("01000000") and hash(job) == hash(JobID("01000000"))
    assert job != "01000000" and job != TaskID("01000000")
    assert job.binary() == b"\x01\x00\x00\x00" and job.size() == 4 and not job.is_nil()
    assert str(job) == repr(job) == "JobID(01000000)"
    assert pickle.loads(pickle.dumps(job)) == job
    assert PlacementGroupID.nil().is_nil() and PlacementGroupID.nil().size() == 18
    assert NodeID.nil().hex() == "ff" * 28
