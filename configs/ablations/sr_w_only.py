"""Table 3, row 5: story region - word (SR-W) contrastive term only (a discriminator-side term,
Eq. 7; the generator's Eq. 9 has no SR-W, so G trains on GAN + KL alone in this row)."""
from configs.ablations import with_loss_terms


def get_config():
    return with_loss_terms("story_region_word")
