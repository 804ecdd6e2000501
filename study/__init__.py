"""imcopt studies: samplings, operators, algorithms, runner, analysis, plots, reports, CLI."""
