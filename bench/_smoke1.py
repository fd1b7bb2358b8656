import time
from pathlib import Path
from bench.stack import Stack
from bench.load import http_load
s = Stack(real=False, quick=True, repeat=1, run_dir=Path("/tmp/benchsmoke"))
try:
    t=time.time(); app = s.app(); print("app up", time.time()-t, app.pids())
    b = s.bare(); print("bare", b.pids())
    pid = s.pipeline("one", "steps:\n  - name: a\n    run: \"true\"\n")
    ex = s.run(pid); print(ex["status"]); print(s.wait(ex["id"])["status"])
    r = http_load(app.base_url, f"/api/v1/pipelines/{pid}/status", headers=s.auth, duration=3)
    print(r.to_json())
    r = http_load(b.base_url, "/json", duration=3); print(r.to_json())
    import httpx; print(httpx.get(app.base_url+f"/api/v1/pipelines/{pid}/status", headers=s.auth).text)
finally:
    s.close()
