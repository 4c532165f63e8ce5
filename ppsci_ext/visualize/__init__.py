"""Toy plots and training curves (PNG)."""

from ppsci_ext.visualize.curves import plot_history
from ppsci_ext.visualize.toy import critic_grid, plot_toy

__all__ = ["critic_grid", "plot_history", "plot_toy"]
