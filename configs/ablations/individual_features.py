"""Table 4: cluster the individual per-modality features (projected frame image and sentence
vectors, each its own instance) instead of the fusion features of Eq. 3."""
from configs import default


def get_config():
    config = default.get_config()
    config.clustering.features = "individual"
    return config
