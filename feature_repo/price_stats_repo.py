"""The Feast repository's objects, at module level, where the `feast` CLI finds them.

  feast -c feature_repo plan          # after make demo: no changes
  feast -c feature_repo apply | materialize-incremental <ISO time> | serve | feature-views list

Built from conf (conf/ plus PRICESUGGEST__ environment overrides, as every job loads it) by the
function `jobs/materialize_features.py` applies (`feature_repo.store.repo_objects`), so the CLI
and the jobs register the same objects, and `feast plan` after a materialization has nothing to
change. `feature_store.yaml` beside this file is rendered from conf by
`feature_repo.store.write_repo` (every job that opens the store writes it; it is not committed);
`.feastignore` keeps the CLI from importing the package's other modules, which would register
the entities a second time under another module name.
"""
from __future__ import annotations

from feature_repo.store import repo_objects
from pricesuggest.config import load_config

(seller, category, platform,
 seller_price_stats, category_price_stats, platform_price_stats,
 price_model_service) = repo_objects(load_config())
