"""Admission control for exam day: the costly requests (a login's password check, an exam
start's draw and paper) are let in only as many at a time as the machine serves well; the
rest are answered at once with 503 and Retry-After, and come back a few seconds later.

Without it, a burst of thousands of logins at the start of an exam fills every worker, and
the answer saves of those already writing queue behind them for tens of seconds (bench/README.md,
"Exam day at scale"). Each process admits `ADMISSION_SLOTS` costly requests at once and lets
`ADMISSION_QUEUE` more wait up to `ADMISSION_WAIT_SECONDS` for a slot; the other threads stay
free for saves, which are never refused here. With gunicorn's sync worker a process serves one
request at a time, so nothing is refused: the gate is for threaded workers. `bin/serve`
runs sync workers, and on exam day the saves get instances of their own behind the
balancer, whose queue sheds load (deploy/haproxy.cfg): measured, that is what keeps saves
fast through a start burst, which this gate did not (bench/README.md, "Exam day at scale").
"""

import functools
import random
import threading

from flask import Flask, current_app, render_template, request

from core.errors import json_error
from core.roles import wants_json

MESSAGE = "当前登录或开考的人数较多，请 {seconds} 秒后重试。已保存的答案不受影响。"


class Gate:
    """At most `slots` holders at once; at most `queue` more waiting up to `wait` seconds."""

    def __init__(self, slots: int, queue: int, wait: float):
        self._slots = threading.BoundedSemaphore(slots)
        self._count_lock = threading.Lock()
        self._waiting = 0
        self.queue, self.wait = queue, wait

    def enter(self) -> bool:
        if self._slots.acquire(blocking=False):
            return True
        with self._count_lock:
            if self._waiting >= self.queue:
                return False
            self._waiting += 1
        try:
            return self._slots.acquire(timeout=self.wait)
        finally:
            with self._count_lock:
                self._waiting -= 1

    def leave(self) -> None:
        self._slots.release()


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions["admission"] = Gate(
        config["ADMISSION_SLOTS"], config["ADMISSION_QUEUE"], config["ADMISSION_WAIT_SECONDS"]
    )


def costly(view):
    """Admit this view's POSTs through the gate (GETs of the same route are cheap pages)."""

    @functools.wraps(view)
    def admitted(*args, **kwargs):
        if request.method != "POST":
            return view(*args, **kwargs)
        gate: Gate = current_app.extensions["admission"]
        if not gate.enter():
            return _busy()
        try:
            return view(*args, **kwargs)
        finally:
            gate.leave()

    return admitted


def _busy():
    low, high = current_app.config["ADMISSION_RETRY_SECONDS"]
    seconds = random.randint(low, high)  # spread the retries, so they do not return as one
    message = MESSAGE.format(seconds=seconds)
    if wants_json():
        response = current_app.make_response(json_error(503, "busy", message))
    else:
        page = render_template("error.html", status=503, title="系统繁忙", message=message)
        response = current_app.make_response((page, 503))
    response.headers["Retry-After"] = str(seconds)
    return response
