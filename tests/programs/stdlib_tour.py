"""A tour of the Python standard library for the LibOS tests: prints the same
lines natively and inside the LibOS. Usage: stdlib_tour.py TMPDIR HOMEDIR BUSYBOX"""
import hashlib
import json
import os
import pty
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading

tmp, home = sys.argv[1], sys.argv[2]
print(json.dumps({"a": [1, 2, {"b": None}], "c": "é"}, sort_keys=True))
print(re.sub(r"(\d+)", lambda m: str(int(m.group(1)) * 2), "a1 b22 c333"))
print(hashlib.sha256(b"occlum").hexdigest())

db_path = os.path.join(home, "tour.db")
db = sqlite3.connect(db_path)
db.execute("create table t(x integer, y text)")
db.executemany("insert into t values (?, ?)", [(i, f"row {i}") for i in range(500)])
db.commit()
print(db.execute("select count(*), sum(x), max(y) from t").fetchone())
db.close()
os.unlink(db_path)

results = []
lock = threading.Lock()


def work(i):
    value = sum(range(i * 1000))
    with lock:
        results.append(value)


threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sorted(results)[:3], len(results))

with tempfile.NamedTemporaryFile("w", dir=tmp, delete=False, suffix=".txt") as f:
    f.write("temporary data\n")
    name = f.name
with open(name) as f:
    print(f.read().strip())
os.unlink(name)

with open(os.path.join(home, "note.txt"), "w") as f:
    f.write("kept in the home directory\n")
print(sorted(os.listdir(home)))
os.unlink(os.path.join(home, "note.txt"))

done = subprocess.run([sys.argv[3], "echo", "from", "a", "child"], capture_output=True, text=True)
print(done.returncode, done.stdout.strip())
print(subprocess.run([sys.argv[3], "sh", "-c", "exit 7"]).returncode)

# A child on a pseudo-terminal: what is typed is echoed, the child reads it
# as a line and sees a terminal.
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[3], [sys.argv[3], "sh", "-c", "read line; echo got $line; [ -t 0 ] && echo tty"])
os.write(fd, b"typed\n")
out = b""
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:  # EIO: the child's end is closed
        break
    if not chunk:
        break
    out += chunk
print(os.waitpid(pid, 0)[1], out.decode().split("\r\n"))
