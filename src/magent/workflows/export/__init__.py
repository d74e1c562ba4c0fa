"""`magent conversations export`: the pipeline (`runner`) and where it writes (`sinks`)."""
