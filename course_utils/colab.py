"""The one place that names the course repository, and the Colab badge and setup cell built from it."""
from __future__ import annotations

REPO_SLUG = "dl-course-kit/deep-learning-course-kit"
REPO_URL = f"https://github.com/{REPO_SLUG}"
BRANCH = "main"
SETUP_MARKER = "# Colab setup"


def in_colab() -> bool:
    """Return True when running inside Google Colab."""
    import sys

    return "google.colab" in sys.modules


def badge_markdown(notebook_name: str) -> str:
    """Return the 'Open in Colab' badge that opens this notebook from the repository."""
    link = f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{BRANCH}/notebooks/{notebook_name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({link})"


def setup_cell_source() -> str:
    """Return the setup cell: inside Colab it pip-installs course_utils with the extras every lesson needs (text for
    the Korean lessons and their plot font, serve for the REST API), keeping Colab's torch; elsewhere nothing."""
    return (
        f"{SETUP_MARKER}: inside Google Colab, install course_utils from the course repository\n"
        "# (its loose version bounds keep Colab's own torch). Everywhere else this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "course-kit[text,serve] @ git+{REPO_URL}@{BRANCH}"],\n'
        "                   check=True)"
    )
