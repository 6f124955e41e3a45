"""Process-wide runtime concerns: the offline environment, BLAS thread limits, GC pauses."""
