"""Command-line tools, installed as console scripts: ppsci-ext-score, ppsci-ext-convert, ppsci-ext-train-classifier."""
