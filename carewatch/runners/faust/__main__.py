"""`python -m carewatch.runners.faust`: one Faust worker, configured by CAREWATCH_* settings (= `carewatch worker`)."""

from carewatch.settings import Settings
from carewatch.runners.faust.worker import run_worker

run_worker(Settings())
