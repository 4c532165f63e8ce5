"""Old name of ``ppsci_ext.cli.score``, so that ``python -m ppsci_ext.metric.score`` keeps working (now ``ppsci-ext-score``)."""

from ppsci_ext.cli.score import main

if __name__ == "__main__":
    main()
