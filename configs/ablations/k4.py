"""Table 4: K-means with k = 4 clusters (the paper's choice, k = 8, is configs/default.py)."""
from configs.ablations import with_clusters


def get_config():
    return with_clusters(4)
