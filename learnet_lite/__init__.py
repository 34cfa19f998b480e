"""learnet_lite: a reproducible companion to LEARNet (Verma et al., IEEE TIP 2019).

One module per step of the paper's pipeline, each answering one question:

* settings: :mod:`profiles` (the frozen dataclass ``Profile``: every setting once);
* the clips of a dataset: :func:`inputs.clips` (the licensed release via :mod:`datasets`,
  else its synthetic twin via :mod:`synthetic`); frames are read by :mod:`frames`;
* what the network sees: :func:`inputs.images` (the dynamic image, :mod:`dynamic`, Sec.
  III-A) and :func:`inputs.to_tensor`;
* the network, Sec. III-B: :mod:`models`; a run and the grid of Sec. IV: :mod:`experiment`
  with :mod:`protocols`, :mod:`augment`, :mod:`train`, :mod:`metrics` and :mod:`results`;
* beside the paper: :mod:`tables` (Tables I–V, Figs. 7–10, the paper's numbers read by
  :mod:`paper`) and :mod:`figures` (every figure the chapters draw);
* the command line: :mod:`cli`.
"""

__version__ = "0.1.0"
