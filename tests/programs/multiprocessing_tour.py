# Python's process-based concurrency, for the LibOS tests: the same output
# natively and inside the LibOS. Every section forks; the children run
# alongside their parent.
import concurrent.futures
import multiprocessing
import os
import subprocess
import sys


def square(x):
    return x * x


def fork_with_pipes():
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(down_w)
        os.close(up_r)
        with os.fdopen(down_r, "rb") as src, os.fdopen(up_w, "wb") as dst:
            for line in src:
                dst.write(line.upper())
                dst.flush()
        os._exit(3)
    os.close(down_r)
    os.close(up_w)
    replies = []
    with os.fdopen(down_w, "wb", buffering=0) as dst, os.fdopen(up_r, "rb") as src:
        for word in [b"alpha\n", b"beta\n", b"gamma\n"]:
            dst.write(word)
            replies.append(src.readline().decode().strip())
    _, status = os.waitpid(pid, 0)
    print("fork+pipes:", replies, "status", os.waitstatus_to_exitcode(status))


def pool_map():
    with multiprocessing.Pool(4) as pool:
        result = pool.map(square, range(1000))
    print("Pool(4).map:", len(result), sum(result), result[:5], result[-1])


def process_pool_executor():
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as ex:
        result = list(ex.map(square, range(100)))
    print("ProcessPoolExecutor:", sum(result))


def queue_and_process():
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=q.put, args=(i * 10,)) for i in range(3)]
    for p in procs:
        p.start()
    got = sorted(q.get() for _ in procs)
    for p in procs:
        p.join()
    print("Process+Queue:", got, [p.exitcode for p in procs])


def popen_communicate(busybox):
    p = subprocess.Popen(
        [busybox, "tr", "a-z", "A-Z"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    out, _ = p.communicate(b"read from stdin\n" * 3)
    print("Popen.communicate:", out.decode().split("\n")[0], p.returncode)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    fork_with_pipes()
    pool_map()
    process_pool_executor()
    queue_and_process()
    popen_communicate(sys.argv[1])
