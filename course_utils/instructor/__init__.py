"""Instructor tooling: run notebooks headlessly, over parameter grids or as a course run, and build student versions."""
