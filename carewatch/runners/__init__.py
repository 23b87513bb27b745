"""The runners: what takes a reading from MQTT through the detectors to an alert, on one of two engines.

  engine      the one judge both engines call (a reading → verdict; a tick → detections)
  directory   what every runner does at start: schema upgraded, registry file imported, directory read
  collector   what every runner does once started: what lives long frozen out of the garbage collector's full passes
  embedded/   `carewatch run` and the demo: one process, one database transaction per batch
  faust/      `carewatch worker` and `carewatch alerts`: Faust over Kafka, state in changelog tables
"""
