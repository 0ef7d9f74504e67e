import sys, datetime as dt, socket, pathlib
sys.path.insert(0, "/work/main")
from storage import Store
from monitor.daemon import _check_single_daemon
from monitor.schedule import to_iso
db="/tmp/review3-a/hb.db"
for s in ("", "-wal", "-shm"): pathlib.Path(db+s).unlink(missing_ok=True)
with Store(db) as st:
    ten_ago = to_iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10))
    st.beat(pid=24788, hostname=socket.gethostname(), started_at=ten_ago, state="running", at=ten_ago)
    _check_single_daemon(st, stale_after=3 * 1.0); print("default interval: second daemon allowed to start while pid alive, beat 10s old")
