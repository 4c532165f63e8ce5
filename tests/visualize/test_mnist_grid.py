"""image_grid (ppsci_ext/visualize) on MNIST-shaped samples: layout, padding and value range."""

import numpy as np

from ppsci_ext.visualize import image_grid


def test_image_grid_layout():
    images = np.zeros((4, 1, 28, 28), np.float32)
    images[3] = 1.0
    grid = image_grid(images, rows=2, cols=2, padding=1, pad_value=0.5)
    assert grid.shape == (2 * 29 + 1, 2 * 29 + 1) and grid.dtype == np.uint8
    assert grid[0, 0] == 128 and grid[1, 1] == 0 and grid[30:58, 30:58].min() == 255
