"""Code shared by the benchmark drivers: paths, data, option parsing, child processes, reports."""
