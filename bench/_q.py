import time
from pathlib import Path
from bench.stack import Stack
from bench import queue_latency as q
s = Stack(real=False, quick=True, repeat=1, run_dir=Path("/tmp/benchsmoke"))
try:
    d = q.DramatiqSide(s)
    t=time.time()
    print(q.latency_run(d, 10, 0)[:5], time.time()-t)
    print(open(d.out).read()[:300])
finally:
    d.close(); s.close()
