"""The main paper's Pororo-SV experiment (Li, Torr, Lukasiewicz, MM 2022, Sec. 4.2) at the
widths of the authors' released code, so parameter counts compare with the paper's Table 1
(generator 72.4 M, discriminator 10.4 M).

Differences from the authors' code that change the counts are listed in
docs/REPRODUCTION_NOTES.md: our generator takes our text encoder's 356-d sentence vectors
(theirs: 128-d universal-sentence embeddings + 228 attributes), has no Text2Gist /
dynamic-filter extras, and applies conditioning augmentation to the story vector (theirs: to
the 5 concatenated sentence vectors). The image encoder is the paper's VGG-16; its ImageNet weights must be given
as a local file: --config.image_encoder.vgg16_weights=/path/to/
vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (empty trains it from scratch, the paper's
offline-clustering mode).
"""
import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
    c = default.get_config()
    c.data.dataset = "pororo"
    c.data.image_size = 64
    c.data.frames_per_story = 5
    c.data.max_sentence_length = 40       # the authors' discriminator takes 40 word channels

    c.text_encoder.embedding_dim = 300    # AttnGAN's DAMSM text encoder
    c.text_encoder.hidden_dim = 356       # the authors' word/sentence feature size
    c.text_encoder.dropout = 0.5
    c.image_encoder.backbone = "vgg16"
    c.image_encoder.dim = 356

    c.generator.noise_dim = 100
    c.generator.condition_dim = 124
    c.generator.base_channels = 256
    c.generator.attention = "bwsa"
    c.generator.attention_resolutions = (32, 64)
    c.generator.residual_blocks = 4
    c.generator.use_character_labels = False   # the authors' code feeds them; the paper does not

    c.discriminator.architecture = "fusion"   # the paper's fusion-map-only discriminator
    c.discriminator.batch_norm = True         # after the first block, as the authors' code
    c.discriminator.base_channels = 124
    c.discriminator.spectral_norm = True
    c.losses.mismatched_pairs = False

    c.train.epochs = 240
    c.train.batch_size = 8                # stories; image batch 40
    c.train.generator_learning_rate = 1e-4
    c.train.discriminator_learning_rate = 4e-4
    c.train.lr_decay_every_epochs = 20
    return c
