"""The main paper as written (Li, Torr, Lukasiewicz, MM 2022) at its Pororo-SV sizes, and
nothing else: every departure switch of configs/default.py is off here.

From the paper:
- discriminator over fusion features (Sec. 3.4, Eq. 3, 7-8), read as the authors' code lays it
  out (its own 3x3 conv times the word matrix; discriminator.architecture = "fusion"); the
  text's reading, where D judges the clustered X = f(v) g(s)^T, is
  `--config.discriminator.architecture=coupled`;
- MMS (Eq. 2, delta = 0.001) at all four contrastive levels, each on (Sec. 3.2);
- online K-means clustering of fusion features, k = 8 over the last 10 batches (Sec. 3.3, 4.2);
- BWSA in the generator (Sec. 3.5);
- Adam at 2e-4 for both networks, 240 epochs, 40 images (8 stories) per batch, 64x64 (Sec. 4.2);
- no ground-truth label anywhere (pretraining, discriminator, generator), no generator weight
  average, no mismatched pairs, no R1, no minibatch stddev.
Not stated in the paper, taken from the authors' code (../shared/METHOD_NOTES.md): generator
width 256 with 4 residual blocks per BWSA stage at 32 and 64 pixels, discriminator width 124
with batch norm after the first block and spectral norm, conditioning augmentation of 124
dimensions with KL weight 1, the generator objective 5 x (GAN + contrastive + clustering) + KL,
Adam betas (0.5, 0.999), the rate halved every 20 epochs, 356-d text and image features, 40-word
sentences, the DAMSM smoothing factors gamma1..3 = 4, 5, 10, the NT-Xent/clustering
temperature 0.1. The image encoder is the paper's VGG-16 (ImageNet weights as a local file:
--config.image_encoder.vgg16_weights=PATH); the text encoder a DAMSM-pretrained bi-LSTM.
configs/paper_cpu.py sizes this down for the embedded dataset on a CPU.
"""
import ml_collections

from configs import paper_pororo


def get_config() -> ml_collections.ConfigDict:
    c = paper_pororo.get_config()
    c.losses.contrastive = "mms"
    c.losses.mms_margin = 0.001
    for term in ("story_image_story_sentence", "image_sentence", "region_word",
                 "story_region_word", "cluster"):
        c.losses[term] = True
    c.losses.story_image = "feature_mean"
    c.losses.generator_alignment_weight = 1.0
    c.losses.generator_cluster_gradient = True
    c.losses.mismatched_pairs = False
    c.losses.character_classification = False
    c.losses.character_fake_frames = False
    c.losses.r1_gamma = 0.0
    c.clustering.mode = "online"
    c.clustering.algorithm = "kmeans"
    c.clustering.features = "fusion"
    c.clustering.k = 8
    c.clustering.memory_batches = 10
    c.clustering.every_n_batches = 10
    c.generator.attention = "bwsa"
    c.generator.use_character_labels = False
    c.generator.frame_gru = False
    c.discriminator.architecture = "fusion"
    c.discriminator.train_heads = True
    c.discriminator.label_projection = False
    c.discriminator.story_condition = False
    c.discriminator.minibatch_stddev_group = 0
    c.pretrain.objective = "damsm"
    c.pretrain.character_weight = 0.0
    c.train.generator_learning_rate = 2e-4
    c.train.discriminator_learning_rate = 2e-4
    c.train.generator_average_decay = 0.0
    return c
