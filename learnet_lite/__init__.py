"""learnet_lite: a reproducible companion to LEARNet (Verma et al., IEEE TIP 2019).

One module per step of the paper's pipeline: video -> dynamic image (:mod:`dynamic`)
-> augmentation -> model -> training under a protocol -> metrics -> tables.
"""

__version__ = "0.1.0"
