"""StoryGAN (model.family = "storygan") on Pororo-SV at 64x64, stories of 5 frames, 8 stories a
batch, with the text encoder and widths of configs/paper_pororo.py's data and encoders, sized
so that its parameter counts sit near the StoryGAN row of the dynamic-block paper's Table 1
(generator 47.0 M, discriminators 47.2 M; the StoryGAN notes state none): generator base
width 286, discriminators base 150; h (the story context) 124-d as in the authors' code line.
No ground-truth label is read (character labels as a generator input stay off).
See docs/MODEL_FAMILIES.md for every departure from the paper.
"""
from configs import paper_pororo
from configs.storygan import without_alignment_terms


def get_config():
    config = paper_pororo.get_config()
    config.model.family = "storygan"
    without_alignment_terms(config)
    config.generator.attention = "none"
    config.generator.base_channels = 286
    config.generator.condition_dim = 124
    config.generator.use_character_labels = False
    config.discriminator.base_channels = 150
    config.discriminator.spectral_norm = False
    config.discriminator.batch_norm = True
    config.model.storygan.gru_units = 356
    config.model.storygan.discriminator_condition_dim = 128
    config.model.storygan.story_embedding_dim = 128
    config.train.generator_learning_rate = 2e-4
    config.train.discriminator_learning_rate = 2e-4
    return config
