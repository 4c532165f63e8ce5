"""Toy plots (also of D-dimensional points), sample grids and training curves (PNG)."""

from ppsci_ext.visualize.curves import plot_history
from ppsci_ext.visualize.export import export_samples
from ppsci_ext.visualize.grid import image_grid, interpolation_noise, save_image_grid, slerp
from ppsci_ext.visualize.points import plot_points
from ppsci_ext.visualize.toy import critic_grid, plot_toy

__all__ = ["critic_grid", "export_samples", "image_grid", "interpolation_noise", "plot_history", "plot_points", "plot_toy",
           "save_image_grid", "slerp"]
