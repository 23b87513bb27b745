"""`python -m carewatch.stream`: one Faust worker, configured by CAREWATCH_* settings (= `carewatch worker`)."""

from carewatch.settings import Settings
from carewatch.stream.worker import run_worker

run_worker(Settings())
