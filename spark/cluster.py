"""A Spark standalone cluster on this machine, from the pip ``pyspark`` distribution: a master and N workers.

>>> with StandaloneCluster(workdir, workers=2) as cluster:        # python spark/cluster.py DIR  (keeps it up)
...     cluster.submit(["--class", "io.mxport.spark.examples.ScoreImages", jar, ...])
...     cluster.executor_logs(app_id)                             # {executor id: stderr text}

The pip distribution's ``sbin/start-*.sh`` scripts expect a full Spark layout (``conf/``, ``logs/``); its
``bin/spark-class`` starts the daemons directly. Everything binds to 127.0.0.1 on free ports; each worker
offers ``cores`` cores and keeps its executors' folders (``<workdir>/worker-<i>/<app id>/<executor id>/stderr``).
Used by integration_tests/test_spark_cluster.py and spark/bench_cluster.py.
"""

import glob
import os
import re
import signal
import socket
import subprocess
import sys
import time


def spark_home():
    import pyspark

    return os.path.dirname(pyspark.__file__)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandaloneCluster:
    def __init__(self, workdir, workers=2, cores=1, memory="2g", timeout=180, java_options=""):
        """``java_options``: for every JVM of the cluster (master, workers, each job's driver and executors)."""
        self.workdir = os.path.abspath(workdir)
        self.workers, self.cores, self.memory, self.timeout = workers, cores, memory, timeout
        self.java_options = java_options
        self.home = spark_home()
        self.port = _free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.processes = []

    def _env(self):
        env = dict(
            os.environ,
            SPARK_HOME=self.home,
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_NO_DAEMONIZE="1",
            SPARK_LOG_DIR=os.path.join(self.workdir, "logs"),
        )
        if self.java_options:
            env["SPARK_DAEMON_JAVA_OPTS"] = self.java_options  # master and workers
            env["SPARK_SUBMIT_OPTS"] = self.java_options  # spark-submit's JVM: the driver
        return env

    def _start(self, name, args):
        log = open(os.path.join(self.workdir, f"{name}.log"), "w")
        p = subprocess.Popen(
            [os.path.join(self.home, "bin", "spark-class"), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
            cwd=self.workdir,
            start_new_session=True,
        )
        self.processes.append((name, p, log))
        return p

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        try:
            self._start(
                "master",
                [
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--webui-port",
                    str(_free_port()),
                ],
            )
            for i in range(self.workers):
                folder = os.path.join(self.workdir, f"worker-{i}")
                os.makedirs(folder, exist_ok=True)
                self._start(
                    f"worker-{i}",
                    [
                        "org.apache.spark.deploy.worker.Worker",
                        "--host",
                        "127.0.0.1",
                        "--webui-port",
                        str(_free_port()),
                        "--cores",
                        str(self.cores),
                        "--memory",
                        self.memory,
                        "--work-dir",
                        folder,
                        self.url,
                    ],
                )
            deadline = time.time() + self.timeout
            while self._registered() < self.workers:
                for name, p, _ in self.processes:
                    if p.poll() is not None:
                        raise RuntimeError(f"the Spark {name} exited: {self.log(name)[-3000:]}")
                if time.time() > deadline:
                    raise RuntimeError(
                        f"{self._registered()} of {self.workers} workers registered with "
                        f"{self.url} in {self.timeout} s: {self.log('master')[-3000:]}"
                    )
                time.sleep(0.5)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def log(self, name):
        with open(os.path.join(self.workdir, f"{name}.log"), errors="replace") as f:
            return f.read()

    def _registered(self):
        return len(re.findall(r"Registering worker 127\.0\.0\.1:", self.log("master")))

    def __exit__(self, *exc):
        for _, p, _ in reversed(self.processes):  # only the daemons this object started
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for _, p, log in self.processes:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            log.close()
        self.processes = []

    def submit(self, args, conf=None, timeout=900, env=None, wait=True):
        """``spark-submit --master <this cluster> --conf k=v ... args``: the CompletedProcess (output captured), or
        with ``wait=False`` the running Popen (stdout and stderr to files in the work folder)."""
        command = [
            os.path.join(self.home, "bin", "spark-submit"),
            "--master",
            self.url,
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.driver.bindAddress=127.0.0.1",
            "--conf",
            "spark.ui.enabled=false",
        ]
        conf = dict(conf or {})
        if self.java_options:
            conf.setdefault("spark.executor.extraJavaOptions", self.java_options)
        for k, v in conf.items():
            command += ["--conf", f"{k}={v}"]
        if not wait:
            n = len(glob.glob(os.path.join(self.workdir, "submit-*.out")))
            out = open(os.path.join(self.workdir, f"submit-{n}.out"), "w")
            err = open(os.path.join(self.workdir, f"submit-{n}.err"), "w")
            return subprocess.Popen(
                command + list(args),
                stdout=out,
                stderr=err,
                text=True,
                env=dict(self._env(), **(env or {})),
                cwd=self.workdir,
            )
        return subprocess.run(
            command + list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(self._env(), **(env or {})),
            cwd=self.workdir,
        )

    def executor_folders(self, app_id=None):
        """{(worker index, executor id): folder} of one application (or all)."""
        found = {}
        for i in range(self.workers):
            for folder in glob.glob(os.path.join(self.workdir, f"worker-{i}", app_id or "app-*", "*")):
                if os.path.isdir(folder):
                    found[(i, os.path.basename(folder))] = folder
        return found

    def executor_logs(self, app_id=None):
        """{executor id: its stderr} of one application (or all)."""
        logs = {}
        for (_, executor), folder in self.executor_folders(app_id).items():
            path = os.path.join(folder, "stderr")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    logs[executor] = f.read()
        return logs

    def executor_pid(self, app_id, executor_id):
        """The process id of one executor JVM (found among this machine's processes by its arguments)."""
        want = [b"CoarseGrainedExecutorBackend", b"--executor-id\x00" + executor_id.encode() + b"\x00", app_id.encode()]
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                if all(w in cmd for w in want):
                    return int(pid)
        return None


if __name__ == "__main__":  # python spark/cluster.py DIR: a cluster until Ctrl-C
    with StandaloneCluster(sys.argv[1]) as c:
        print(f"master {c.url}; workers' folders under {c.workdir}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
