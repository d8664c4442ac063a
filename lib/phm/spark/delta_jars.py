"""Resolve the Delta Lake jars from Maven once, then reuse the local copies.

The first local session asks Ivy for ``io.delta:delta-spark_<spark>_2.13:<delta>`` and its
transitive closure (as ``delta.configure_spark_with_delta_pip`` does), into a cache directory.
The jar list is written to a manifest; later sessions pass those files as ``spark.jars`` and
need no network at all.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pyspark

from phm.errors import SetupError

DEFAULT_IVY_DIR = Path.home() / ".cache" / "phm" / "ivy"


def ivy_dir() -> Path:
    return Path(os.environ.get("PHM_IVY_DIR", DEFAULT_IVY_DIR)).expanduser().resolve()


def delta_maven_coordinate() -> str:
    """The artifact ``configure_spark_with_delta_pip`` would ask for, for the installed pair."""
    delta_version = metadata.version("delta-spark")
    major, minor = pyspark.__version__.split(".")[:2]
    # Delta >= 4.1 publishes Spark-suffixed artifacts (delta-spark_4.2_2.13).
    return f"io.delta:delta-spark_{major}.{minor}_2.13:{delta_version}"


def _manifest() -> Path:
    name = delta_maven_coordinate().replace(":", "_")
    return ivy_dir() / f"manifest-{name}.txt"


def cached_jars() -> list[str] | None:
    """Jar paths from an earlier successful resolution, or None if any is missing."""
    manifest = _manifest()
    if not manifest.exists():
        return None
    jars = [line for line in manifest.read_text().splitlines() if line.strip()]
    if not jars or not all(Path(j).exists() for j in jars):
        return None
    return jars


def record_resolved_jars() -> list[str]:
    """After Ivy resolved the packages, list ``<ivy>/jars`` into the manifest."""
    jar_dir = ivy_dir() / "jars"
    jars = sorted(str(p) for p in jar_dir.glob("*.jar"))
    if not any("delta-spark" in j for j in jars):
        raise SetupError(f"Delta jars were not found in {jar_dir} after resolution.")
    _manifest().write_text("\n".join(jars) + "\n")
    return jars


def resolution_failed_message(cause: BaseException) -> str:
    return (
        f"Could not obtain the Delta Lake jars ({delta_maven_coordinate()}).\n"
        f"phm downloads them once from Maven Central into {ivy_dir()} (set PHM_IVY_DIR to move it).\n"
        "Check that this machine reaches Maven Central (repo1.maven.org), or copy a populated "
        "cache directory from another machine.\n"
        f"Underlying error: {str(cause).splitlines()[0] if str(cause) else type(cause).__name__}"
    )
