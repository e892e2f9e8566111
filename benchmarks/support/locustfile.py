"""The load of benchmarks/pages.py.

Each simulated coordinator requests one page of the app (BENCH_PATH) again and again, signed
in with the session cookie pages.py got by signing in once (BENCH_COOKIE), pausing between
requests as a person does: on average BENCH_THINK seconds (0: none, a stress test). Anything
but a 200, a redirect to the sign-in page included, counts as a failure.
"""

import os

from locust import HttpUser, between, task

PATH = os.environ["BENCH_PATH"]
THINK = float(os.environ.get("BENCH_THINK", "1"))


class Coordinator(HttpUser):
    wait_time = between(THINK / 2, THINK * 3 / 2)

    def on_start(self):
        self.client.cookies.set("session", os.environ["BENCH_COOKIE"])

    @task
    def page(self):
        with self.client.get(PATH, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
