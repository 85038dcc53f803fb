"""Each Delta table's current files: count, size, and the most files any one partition holds.

  .venv/bin/python bench/table_files.py            # after make demo: the README's table

Reads the tables' own details (DESCRIBE DETAIL: the current version's files, not what VACUUM
has yet to delete) and, for partitioned tables, the files behind each partition's rows.
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.strip().splitlines()[0]).parse_args(argv)
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from pricesuggest.config import load_config
    from pricesuggest.delta_io import read_table, table_exists
    from pricesuggest.spark import build_session

    conf = load_config()
    spark = build_session(conf, "table_files")
    print("| table | files | size | most files in one partition |")
    print("|---|---|---|---|")
    for name, table in conf.storage.tables.items():
        location = conf.storage.table_path(name)
        if not table_exists(spark, location):
            continue
        detail = DeltaTable.forPath(spark, location).detail().select("numFiles", "sizeInBytes").first()
        most = "unpartitioned"
        if table.partition_by:
            files = read_table(spark, location).select(*table.partition_by, F.input_file_name().alias("file")).distinct()
            row = files.groupBy(*table.partition_by).count().agg(F.max("count"), F.count("*")).first()
            most = f"{row[0]} (of {row[1]:,} partitions)"
        print(f"| `{name}` | {detail['numFiles']:,} | {detail['sizeInBytes'] / 2**20:,.1f} MiB | {most} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
