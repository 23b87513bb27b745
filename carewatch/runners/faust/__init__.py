"""The scaled-out runner: the same detectors as the embedded runner, on Faust over Kafka."""
