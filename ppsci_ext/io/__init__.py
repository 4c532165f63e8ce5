"""Files: the one atomic writer, weights by path or URL, safe unpickling, the PyTorch-file reader."""

from ppsci_ext.io.atomic import atomic_save, atomic_savez, atomic_write, atomic_write_json, atomic_write_text
from ppsci_ext.io.safe_pickle import safe_loads, safe_paddle_load
from ppsci_ext.io.torch_file import read_torch_file
from ppsci_ext.io.weights import extract_network, load_checked, load_file, load_network, resolve_weights_path

__all__ = ["atomic_save", "atomic_savez", "atomic_write", "atomic_write_json", "atomic_write_text", "extract_network", "load_checked",
           "load_file", "load_network", "read_torch_file", "resolve_weights_path", "safe_loads", "safe_paddle_load"]
