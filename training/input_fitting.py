"""The model's inputs fitted on the train split, in Spark: the vocabulary, the form fields' values
and the statistics' normalisation. The one fitting of them: the training job and the
evaluation call it, and the fitted `ModelInputs` travel with the model (its payload).

Vocabulary: words of title + description with at least `min_count` train rows' occurrences,
by descending count, then alphabetically. Form fields: values with at least
`field_min_count` train rows, sorted (rarer ones get id 0, as missing). Statistics: mean and
population spread of log1p(max(value, 0)) over the rows that have the value (missing stays
missing: its flag carries it).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from model.inputs import FORM_FIELDS, ModelInputs
from model.stats_input import StatsNormalizer
from model.text import Vocabulary, tokenize
from pricesuggest.config import AppConfig


def fit_field_values(train_rows: DataFrame, min_count: int) -> dict[str, list[str]]:
    """Values of each form field with at least `min_count` train rows (rarer ones get id 0, as missing)."""
    values = {}
    for name in FORM_FIELDS:
        rows = (train_rows.where(F.col(name).isNotNull()).groupBy(name).count()
                .where(F.col("count") >= min_count).orderBy(name).collect())
        values[name] = [r[name] for r in rows]
    return values


def fit_inputs(train_rows: DataFrame, stats_columns: list[str], vocab_size: int, min_count: int, image_size: int,
               text_length: int, bigram_buckets: int, field_min_count: int) -> ModelInputs:
    """Vocabulary, form-field values and statistics normalisation from the train split, computed in Spark."""
    tokens = F.pandas_udf(lambda texts: texts.map(tokenize), T.ArrayType(T.StringType()))
    words = (train_rows.select(F.explode(tokens(F.concat_ws(" ", "title", "description"))).alias("w"))
             .groupBy("w").count().where(F.col("count") >= min_count)
             .orderBy(F.desc("count"), "w").limit(vocab_size - 2).collect())
    # Missing (null or NaN) stays missing: F.greatest skips nulls, so without the `when` a
    # missing value would count as 0 in the mean and spread (it did, until 2026-12-01).
    present = [F.col(c).isNotNull() & ~F.isnan(F.col(c).cast("double")) for c in stats_columns]
    logged = [F.when(ok, F.log1p(F.greatest(F.col(c).cast("double"), F.lit(0.0))))
              for c, ok in zip(stats_columns, present)]
    moments = train_rows.agg(*[F.avg(x).alias(f"m{i}") for i, x in enumerate(logged)],
                             *[F.stddev_pop(x).alias(f"s{i}") for i, x in enumerate(logged)]).first()
    mean = [moments[f"m{i}"] if moments[f"m{i}"] is not None else 0.0 for i in range(len(stats_columns))]
    std = [moments[f"s{i}"] if moments[f"s{i}"] and moments[f"s{i}"] > 1e-6 else 1.0 for i in range(len(stats_columns))]
    return ModelInputs(Vocabulary([r["w"] for r in words]), StatsNormalizer(stats_columns, mean, std),
                       image_size, text_length, bigram_buckets, fit_field_values(train_rows, field_min_count))


def statistics_columns(rows: DataFrame) -> list[str]:
    """The point-in-time statistics' columns of a training-table frame (`<view>__<stat>`)."""
    return sorted(c for c in rows.columns if "__" in c)


def fit_configured_inputs(train_rows: DataFrame, conf: AppConfig) -> ModelInputs:
    """fit_inputs with the configuration's settings: what training and the evaluation both call."""
    model = conf.training.model
    return fit_inputs(train_rows, statistics_columns(train_rows), conf.training.vocab_size,
                      conf.training.vocab_min_count, conf.generator.image_size, model.text_length, model.bigram_buckets,
                      conf.training.field_min_count)
