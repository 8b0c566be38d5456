"""The dynamic-block GAN (model.family = "dynamic_block") on Pororo-SV as its paper runs it
(Sec. 4.1): 64x64 frames, stories of 5, Adam 2e-4, 120 epochs, the data and text encoder of
configs/paper_pororo.py (a bi-LSTM pretrained for DAMSM, as the paper says). Widths are chosen
so that the parameter counts sit near the paper's Table 1 (generator 25.1 M, discriminator
23.5 M): generator base width 188, discriminator base 124 (the authors' code line's D width); dynamic blocks on G's 16x16 and 32x32
features and D's 16x16 and 8x8 ones (the paper does not say where). No label is read.
See docs/MODEL_FAMILIES.md for every departure from the paper.
"""
from configs import paper_pororo
from configs.storygan import without_alignment_terms


def get_config():
    config = paper_pororo.get_config()
    config.model.family = "dynamic_block"
    config.model.dynamic_block.generator_resolutions = (16, 32)
    config.model.dynamic_block.discriminator_resolutions = (16, 8)
    without_alignment_terms(config)
    config.losses.generator_weight = 1.0
    config.generator.attention = "none"
    config.generator.conditioning_augmentation = False
    config.generator.use_character_labels = False
    config.generator.base_channels = 188
    config.discriminator.base_channels = 124
    config.discriminator.batch_norm = False
    config.train.generator_learning_rate = 2e-4
    config.train.discriminator_learning_rate = 2e-4
    config.train.epochs = 120
    return config
