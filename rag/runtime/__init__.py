"""Process-wide runtime concerns: the offline environment, BLAS thread limits, GC pauses,
OpenVINO's question sessions."""
