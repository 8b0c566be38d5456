"""Table 3, row 2: story image - story sentence (SI-SS) contrastive term only."""
from configs.ablations import with_loss_terms


def get_config():
    return with_loss_terms("story_image_story_sentence")
