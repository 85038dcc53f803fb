"""Put the Delta Lake jars matching the installed delta-spark into the venv's Spark jars/.

The delta-spark wheel ships Python only. The jars come from Maven Central once, into a
cache outside the checkout (so fresh clones and CI reuse them); copying them into
pyspark/jars puts them on every driver and executor class path at JVM start, the way a
cluster image bakes Delta in: no --packages, no Ivy, no network when a session starts.
Downloads are plain HTTPS (no Maven client needed) and checked against Central's SHA-1.
"""
import hashlib
import importlib.metadata
import shutil
import sys
import urllib.request
from pathlib import Path

import pyspark

cache = Path(sys.argv[1])
delta_version = importlib.metadata.version("delta-spark")
spark_jars = Path(pyspark.__file__).parent / "jars"
scala = next(spark_jars.glob("spark-core_*.jar")).name.split("_")[1].split("-")[0]
artifacts = [f"io.delta:delta-spark_{scala}:{delta_version}", f"io.delta:delta-storage:{delta_version}"]

CENTRAL = "https://repo1.maven.org/maven2"


def download(group: str, name: str, version: str, jar: Path) -> None:
    url = f"{CENTRAL}/{group.replace('.', '/')}/{name}/{version}/{name}-{version}.jar"
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    with urllib.request.urlopen(url + ".sha1", timeout=60) as response:
        expected = response.read().decode().split()[0]
    if hashlib.sha1(data).hexdigest() != expected:
        sys.exit(f"{url}: SHA-1 mismatch, not installed")
    partial = jar.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(jar)  # a cached jar is always a whole one


cache.mkdir(parents=True, exist_ok=True)
for artifact in artifacts:
    group, name, version = artifact.split(":")
    jar = cache / f"{name}-{version}.jar"
    if not jar.exists():
        download(group, name, version, jar)
    target = spark_jars / jar.name
    if not target.exists():
        shutil.copy2(jar, target)
    print(f"{artifact} -> {target}")
# Remove jars of other Delta versions, left by an earlier pin.
for stale in list(spark_jars.glob("delta-spark_*.jar")) + list(spark_jars.glob("delta-storage-*.jar")):
    if delta_version not in stale.name:
        stale.unlink()
        print(f"removed stale {stale.name}")
