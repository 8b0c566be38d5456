"""Table 3, row 1: baseline, no contrastive and no clustering term (GAN + KL only)."""
from configs.ablations import with_loss_terms


def get_config():
    return with_loss_terms()
