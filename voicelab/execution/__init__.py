"""How a run's conversations are executed: in this event loop, in worker processes, or on Ray.

Every executor runs each conversation's turns in order through ``converse`` and hands each
finished turn to the run's ``RunSink`` in the driver process, which alone writes the run folder.
"""
