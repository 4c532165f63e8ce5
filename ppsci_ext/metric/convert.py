"""Old name of ``ppsci_ext.cli.convert``, so that ``python -m ppsci_ext.metric.convert`` keeps working (now ``ppsci-ext-convert``)."""

from ppsci_ext.cli.convert import main

if __name__ == "__main__":
    main()
