"""The baselines the price models are compared with, all fitted on the train split's sold items.

  mean              the mean log sold price
  category_mean     the mean log sold price of the item's category (the overall mean for an unseen one)
  hog_linear        linear regression on HOG features (8 orientations, 8 x 8 cells whatever the
                    image size) reduced by PCA to 200 dimensions
  cnn_linear        linear regression on the trained image encoder's last conv layer, PCA to 256
  svm_segments      one-vs-one RBF SVM on price segments (C and gamma tuned on a log grid by
                    cross-validation on a subsample), over the HOG/PCA features; its regression
                    value is the median log sold price of the predicted segment
  gbt               gradient-boosted trees on TF-IDF of title + description, one-hot category,
                    the statistical features and the HOG/PCA features: what a practitioner
                    would try first
  tfidf_ridge       the sparse peer in the style of the Mercari price-suggestion winners: ridge
                    regression on word 1-2-gram and character 2-4-gram TF-IDF, the one-hot form
                    fields and the statistics (no photo)
  observable_floor  ridge on the listing's true attributes from `listing_truth` (category x item
                    type, brand, spec, material; condition): what a model that read every
                    modality perfectly could reach. A yardstick, never a peer: it sees the truth.
Each returns suggested log prices for the rows asked (sold or not), so every metric applies.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from evaluation.metrics import price_segment
from model.config import BaselineConfig


def hog_features(images: np.ndarray, orientations: int = 8, cells: int = 8) -> np.ndarray:
    """uint8 [N, 3, H, W] -> HOG descriptors [N, cells * cells * orientations] (grey level)."""
    from skimage.feature import hog

    size = images.shape[-1]
    cell = max(1, size // cells)
    grey = images.astype(np.float32).mean(axis=1) / 255.0
    return np.stack([hog(g, orientations=orientations, pixels_per_cell=(cell, cell), cells_per_block=(1, 1),
                         feature_vector=True) for g in grey]) if len(grey) else np.zeros((0, cells * cells * orientations))


def _pca(n: int, rows: int, dims: int, seed: int) -> PCA:
    return PCA(n_components=min(n, rows, dims), random_state=seed)


def linear_on_features(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, n_components: int,
                       seed: int = 0) -> np.ndarray:
    """Standardise, PCA to n_components, ordinary least squares."""
    model = make_pipeline(StandardScaler(), _pca(n_components, *train_x.shape, seed), LinearRegression())
    return model.fit(train_x, train_y).predict(test_x)


def category_mean(train_category: pd.Series, train_y: np.ndarray, test_category: pd.Series) -> np.ndarray:
    means = pd.Series(train_y, index=train_category.to_numpy()).groupby(level=0).mean()
    return test_category.map(means).fillna(float(np.mean(train_y))).to_numpy(float)


def svm_segments(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, edges: np.ndarray,
                 cfg: BaselineConfig) -> tuple[np.ndarray, np.ndarray, dict]:
    """(predicted segment, its median log price, chosen parameters) from a tuned RBF SVM."""
    rng = np.random.default_rng(cfg.seed)
    segments = price_segment(train_y, edges)
    tune = rng.permutation(len(train_x))[: cfg.svm_tune_rows]
    search = GridSearchCV(make_pipeline(StandardScaler(), SVC(kernel="rbf", decision_function_shape="ovo")),
                          {"svc__C": list(cfg.svm_c), "svc__gamma": list(cfg.svm_gamma)}, cv=3, scoring="f1_macro")
    search.fit(train_x[tune], segments[tune])
    fit_rows = rng.permutation(len(train_x))[: cfg.svm_fit_rows]
    model = search.best_estimator_.fit(train_x[fit_rows], segments[fit_rows])
    predicted = model.predict(test_x)
    medians = pd.Series(train_y).groupby(segments).median()
    return predicted, medians.reindex(predicted).fillna(float(np.median(train_y))).to_numpy(float), \
        {k.removeprefix("svc__"): v for k, v in search.best_params_.items()}


def tabular_features(frame: pd.DataFrame, stats: np.ndarray, hog_pca: np.ndarray, vectorizer: TfidfVectorizer,
                     categories: list[str]) -> np.ndarray:
    text = vectorizer.transform((frame["title"].fillna("") + " " + frame["description"].fillna("")).tolist())
    onehot = (frame["category"].to_numpy()[:, None] == np.asarray(categories)[None, :]).astype(np.float32)
    return np.hstack([text.toarray().astype(np.float32), onehot, stats, hog_pca]).astype(np.float32)


def gbt(train: pd.DataFrame, train_stats: np.ndarray, train_hog: np.ndarray, train_y: np.ndarray,
        test: pd.DataFrame, test_stats: np.ndarray, test_hog: np.ndarray, cfg: BaselineConfig) -> np.ndarray:
    """Gradient-boosted trees on TF-IDF + one-hot category + statistics + HOG/PCA."""
    vectorizer = TfidfVectorizer(max_features=cfg.tfidf_features, token_pattern=r"[a-z0-9]+", lowercase=True)
    vectorizer.fit((train["title"].fillna("") + " " + train["description"].fillna("")).tolist())
    categories = sorted(train["category"].unique())
    model = HistGradientBoostingRegressor(max_iter=cfg.gbt_iterations, learning_rate=0.1, random_state=cfg.seed)
    model.fit(tabular_features(train, train_stats, train_hog, vectorizer, categories), train_y)
    return model.predict(tabular_features(test, test_stats, test_hog, vectorizer, categories))


FORM_COLUMNS = ["category", "brand", "condition"]
# listing_truth columns the observable floor reads (evaluation only)
TRUTH_ATTRIBUTES = ["item_type", "true_brand", "spec_value", "material", "true_condition"]


def listing_texts(frame: pd.DataFrame) -> list[str]:
    return (frame["title"].fillna("") + " " + frame["description"].fillna("")).tolist()


def tfidf_ridge(train: pd.DataFrame, train_stats: np.ndarray, train_y: np.ndarray, test: pd.DataFrame,
                test_stats: np.ndarray, cfg: BaselineConfig) -> np.ndarray:
    """Ridge on word and character n-gram TF-IDF, one-hot form fields and the statistics."""
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(listing_texts(train))
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3, sublinear_tf=True,
                            max_features=20_000).fit(listing_texts(train))
    onehot = OneHotEncoder(handle_unknown="ignore").fit(train[FORM_COLUMNS].fillna("?"))

    def features(frame, stats):
        return sp.hstack([words.transform(listing_texts(frame)), chars.transform(listing_texts(frame)),
                          onehot.transform(frame[FORM_COLUMNS].fillna("?")), sp.csr_matrix(stats)]).tocsr()

    return Ridge(alpha=cfg.ridge_alpha).fit(features(train, train_stats), train_y).predict(features(test, test_stats))


def truth_attributes(frame: pd.DataFrame) -> pd.DataFrame:
    """The generator's price drivers per listing: category-specific effects keyed by category."""
    out = pd.DataFrame({"condition": frame["true_condition"].fillna("?")})
    for column in ("item_type", "true_brand", "spec_value", "material"):
        out[column] = frame["category"] + "|" + frame[column].fillna("none").astype(str)
    return out


def observable_floor(train: pd.DataFrame, train_y: np.ndarray, test: pd.DataFrame, cfg: BaselineConfig) -> np.ndarray:
    """Ridge on one-hot true attributes (listing_truth): the evaluation's floor, not a peer."""
    onehot = OneHotEncoder(handle_unknown="ignore").fit(truth_attributes(train))
    model = Ridge(alpha=cfg.floor_alpha).fit(onehot.transform(truth_attributes(train)), train_y)
    return model.predict(onehot.transform(truth_attributes(test)))


def fit_baselines(train: pd.DataFrame, train_arrays: dict, test: pd.DataFrame, test_arrays: dict,
                  edges: np.ndarray, cfg: BaselineConfig) -> tuple[dict[str, np.ndarray], dict]:
    """name -> suggested log prices of the test rows; plus notes (e.g. the SVM's chosen C, gamma).

    Fitted on the sold train rows (only they have a sold price to learn).
    """
    sold = train["label_sold"].to_numpy().astype(bool)
    y = train["log_sold_price"].to_numpy(float)[sold]
    hog_train = hog_features(train_arrays["image"][sold], cfg.hog_orientations, cfg.hog_cells)
    hog_test = hog_features(test_arrays["image"], cfg.hog_orientations, cfg.hog_cells)
    hog_pca = make_pipeline(StandardScaler(), _pca(cfg.hog_pca, *hog_train.shape, cfg.seed)).fit(hog_train)
    hog_pca_train, hog_pca_test = hog_pca.transform(hog_train), hog_pca.transform(hog_test)
    out = {"mean": np.full(len(test), float(y.mean())),
           "category_mean": category_mean(train["category"][sold], y, test["category"]),
           "hog_linear": LinearRegression().fit(hog_pca_train, y).predict(hog_pca_test)}
    segment, segment_price, svm_params = svm_segments(hog_pca_train, y, hog_pca_test, edges, cfg)
    out["svm_segments"] = segment_price
    out["gbt"] = gbt(train[sold], train_arrays["stats"][sold], hog_pca_train, y, test, test_arrays["stats"],
                     hog_pca_test, cfg)
    out["tfidf_ridge"] = tfidf_ridge(train[sold], train_arrays["stats"][sold], y, test, test_arrays["stats"], cfg)
    if all(c in train for c in TRUTH_ATTRIBUTES):  # evaluation data joined with listing_truth
        out["observable_floor"] = observable_floor(train[sold], y, test, cfg)
    return out, {"svm_segments": {"best_params": svm_params, "segments": segment}}
