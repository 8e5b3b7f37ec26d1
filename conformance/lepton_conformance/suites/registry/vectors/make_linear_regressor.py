"""Writes linear_regressor.skops, the source model of the registry conversion cases: a
scikit-learn LinearRegression over 4 float features, fitted on fixed data and saved with
skops.io.dump. Run it from this directory (with scikit-learn and skops installed) only to
renew the file (then update the sha256 that conversions.regressor_bytes states); the suite
reads the committed bytes and never imports either library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skops.io
from sklearn.linear_model import LinearRegression

OUT = Path(__file__).with_name("linear_regressor.skops")


def main() -> None:
    rows = np.random.default_rng(20261203).standard_normal((64, 4))
    # Coefficients no float32 holds exactly, so a float32 ONNX model rounds differently.
    target = rows @ np.array([0.1, -1 / 3, 2 / 7, 0.7]) + 1 / 9
    model = LinearRegression().fit(rows, target)
    skops.io.dump(model, OUT)


if __name__ == "__main__":
    main()
