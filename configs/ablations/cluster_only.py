"""Table 3, row 6: clustering term (Eq. 5, online K-means) only."""
from configs.ablations import with_loss_terms


def get_config():
    return with_loss_terms("cluster")
