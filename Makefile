# The two commands: `make demo` and `make test`. Both run `make setup` first (fast when done).
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.setup-done
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYSPARK_PYTHON := $(CURDIR)/$(VENV)/bin/python
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(VENV)/bin/python
DRIVER_MEMORY ?= 6g
# conf's spark.master (local[*,4]: failed tasks are retried), read when a recipe runs (after set-up)
SPARK_MASTER = $(shell $(VENV)/bin/python -m pricesuggest.config spark.master)
SUBMIT = spark-submit --master "$(SPARK_MASTER)" --driver-memory $(DRIVER_MEMORY) --driver-java-options "-Dlog4j2.configurationFile=file:$(CURDIR)/conf/log4j2.properties"
PYTEST_ARGS ?=

.PHONY: setup demo test eval refresh sql serve bench-generator clean-data

setup: $(STAMP)

# Rerun set-up whenever what it installs from changes.
$(STAMP): pyproject.toml scripts/setup.sh scripts/install_horovod.sh scripts/install_delta_jars.py
	scripts/setup.sh
	touch $(STAMP)

# generate -> stats -> Feast (apply + materialize) -> training set -> model -> scores, the steps of
# pricesuggest/pipeline.py; each incremental (the model is trained once per training_set version
# and configuration).
demo: setup
	python jobs/refresh.py --demo --spark-submit '$(SUBMIT)'

# The evaluation report on the demo data (jobs/evaluate.py): the quick grid by default;
# EVAL_ARGS="--grid full" for the committed docs/EVALUATION.md, "--resume RUN_ID" to finish a run.
EVAL_ARGS ?=
eval: setup
	$(SUBMIT) jobs/evaluate.py $(EVAL_ARGS)

# The scheduled refresh (jobs/refresh.py): UNTIL=YYYY-MM-DD generates the demo's new listings first.
refresh: setup
	python jobs/refresh.py $(if $(UNTIL),--until $(UNTIL)) $(REFRESH_ARGS) --spark-submit '$(SUBMIT)'

# spark-sql over every table by name (pricesuggest.<table>; pricesuggest/catalog.py), e.g.
# make sql  then  SELECT state, count(*) FROM price_suggestions GROUP BY state;
sql: setup
	spark-sql --driver-java-options "-Dlog4j2.configurationFile=file:$(CURDIR)/conf/log4j2.properties" \
		$$(python -m pricesuggest.catalog)

# The suggestion service (jobs/serve.py) on the embedded defaults, after make demo: http://127.0.0.1:8080.
# API calls send "Authorization: Bearer $PRICESUGGEST_API_TOKEN" (a local default when unset).
serve: setup
	PRICESUGGEST_API_TOKEN=$${PRICESUGGEST_API_TOKEN:-local-demo-token} python jobs/serve.py

test: setup
	python -m pytest $(PYTEST_ARGS)

bench-generator: setup
	python bench/bench_generator.py --listings 20000 1000000

clean-data:
	rm -rf data/
