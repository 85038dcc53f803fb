"""One timed Spark run of the statistics transform over a workload's Parquet (spark-submit this)."""
import argparse
from datetime import date

from pricesuggest.config import load_config
from pricesuggest.spark import build_session
from stats.price_stats import price_stats, snapshot_dates

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("source", help="the workload's Parquet (bench/stats_workload.py)")
parser.add_argument("target", help="where the statistics are written")
parser.add_argument("first", type=date.fromisoformat, help="first snapshot day")
parser.add_argument("last", type=date.fromisoformat, help="last snapshot day")
args = parser.parse_args()
source, target, first, last = args.source, args.target, args.first, args.last
conf = load_config()
spark = build_session(conf, "bench-price-stats")
stats = price_stats(spark.read.parquet(source), snapshot_dates(spark, first, last), conf.stats.window_days,
                    conf.stats.percentile_accuracy, conf.stats.seller_min_count,
                        conf.stats.seller_partitions)
stats.write.format("delta").mode("overwrite").partitionBy("snapshot_date").save(target)
print("rows", spark.read.format("delta").load(target).count())
