"""The benchmark suite: instances with exact optima, analytics, export and report."""
