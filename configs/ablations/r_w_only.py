"""Table 3, row 4: region - word (R-W) contrastive term only."""
from configs.ablations import with_loss_terms


def get_config():
    return with_loss_terms("region_word")
