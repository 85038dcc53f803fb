"""What every job entry point shares: the argument parser's common options, conf and logging (no stage logic)."""
from __future__ import annotations

import argparse
import logging
import sys
import warnings
from datetime import date
from pathlib import Path

from pricesuggest.config import AppConfig, ConfigError, load_config


def job_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--conf-dir", type=Path, default=None,
                        help="configuration root holding base/ and local/ (default: conf/ or $PRICESUGGEST_CONF_DIR)")
    return parser


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def load_job_config(parser: argparse.ArgumentParser, args: argparse.Namespace, overrides=None) -> AppConfig:
    """Load conf; a bad configuration is a usage error (exit 2) with the offending key named."""
    dirs = [args.conf_dir / "base", args.conf_dir / "local"] if args.conf_dir else None
    try:
        return load_config(dirs, overrides=overrides)
    except ConfigError as exc:
        parser.error(f"configuration: {exc}")


def setup_logging() -> logging.Logger:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    logging.getLogger("feast").setLevel(logging.WARNING)  # "registry cache expired" on every call
    # Known, harmless noise from the pinned stack (pyspark's distutils use, pandas 2.2 deprecations
    # inside pyarrow 14, Feast's "experimental Spark store" notice) buries the jobs' own output.
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message="The spark .* is an experimental feature", category=RuntimeWarning)
    return logging.getLogger("pricesuggest")
