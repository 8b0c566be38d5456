"""Table 4: Ward hierarchical clustering instead of K-means for the online centroids (run on the
host between train steps, see storyvis_tf/training/clustering_memory.py)."""
from configs import default


def get_config():
    config = default.get_config()
    config.clustering.algorithm = "hierarchical"
    return config
