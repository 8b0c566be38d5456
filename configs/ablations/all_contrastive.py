"""Table 3, row 7: all four contrastive terms, no clustering."""
from configs.ablations import with_loss_terms


def get_config():
    return with_loss_terms("story_image_story_sentence", "image_sentence", "region_word",
                           "story_region_word")
