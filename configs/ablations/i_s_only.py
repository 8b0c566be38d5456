"""Table 3, row 3: image - sentence (I-S) contrastive term only."""
from configs.ablations import with_loss_terms


def get_config():
    return with_loss_terms("image_sentence")
