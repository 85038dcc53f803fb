"""One timed Spark run of the statistics transform over a workload's Parquet (spark-submit this)."""
import sys
from datetime import date

from features.price_stats import price_stats, snapshot_dates
from pricesuggest.config import load_config
from pricesuggest.spark import build_session

source, target, first, last = sys.argv[1], sys.argv[2], date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4])
conf = load_config()
spark = build_session(conf, "bench-price-stats")
stats = price_stats(spark.read.parquet(source), snapshot_dates(spark, first, last), conf.stats.window_days,
                    conf.stats.percentile_accuracy, conf.stats.seller_min_count,
                        conf.stats.seller_partitions)
stats.write.format("delta").mode("overwrite").partitionBy("snapshot_date").save(target)
print("rows", spark.read.format("delta").load(target).count())
