"""Put the Delta Lake jars matching the installed delta-spark into the venv's Spark jars/.

The delta-spark wheel ships Python only. The jars come from Maven Central once, into a
cache outside the checkout (so fresh clones and CI reuse them); copying them into
pyspark/jars puts them on every driver and executor class path at JVM start, the way a
cluster image bakes Delta in: no --packages, no Ivy, no network when a session starts.
"""
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pyspark

cache = Path(sys.argv[1])
delta_version = importlib.metadata.version("delta-spark")
spark_jars = Path(pyspark.__file__).parent / "jars"
scala = next(spark_jars.glob("spark-core_*.jar")).name.split("_")[1].split("-")[0]
artifacts = [f"io.delta:delta-spark_{scala}:{delta_version}", f"io.delta:delta-storage:{delta_version}"]

cache.mkdir(parents=True, exist_ok=True)
for artifact in artifacts:
    _, name, version = artifact.split(":")
    jar = cache / f"{name}-{version}.jar"
    if not jar.exists():
        subprocess.run(["mvn", "-q", "-B", "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
                        f"-Dartifact={artifact}", f"-DoutputDirectory={cache}"], check=True)
    target = spark_jars / jar.name
    if not target.exists():
        shutil.copy2(jar, target)
    print(f"{artifact} -> {target}")
# Remove jars of other Delta versions, left by an earlier pin.
for stale in list(spark_jars.glob("delta-spark_*.jar")) + list(spark_jars.glob("delta-storage-*.jar")):
    if delta_version not in stale.name:
        stale.unlink()
        print(f"removed stale {stale.name}")
