"""imcopt command-line interface (click)."""
