"""Smoke config: the default model at toy widths on 32x32 frames, for tests and quick checks.

Every switch of configs/default.py stays on (all loss terms, online K-means clustering, BWSA),
so a smoke run exercises the whole method in seconds on a CPU. The clustering memory holds 2
batches and is re-clustered every 2 batches, so clustering starts at the second step.
"""
from configs import default


def get_config():
    config = default.get_config()
    config.data.image_size = 32
    config.data.max_sentence_length = 8
    config.data.num_shards = 1
    config.data.synthetic_train = 8
    config.data.synthetic_val = 4
    config.data.synthetic_test = 4

    config.text_encoder.embedding_dim = 16
    config.text_encoder.hidden_dim = 16
    config.image_encoder.width = 4
    config.image_encoder.dim = 16
    config.pretrain.epochs = 1
    config.pretrain.batch_size = 2

    config.generator.noise_dim = 8
    config.generator.condition_dim = 8
    config.generator.base_channels = 4
    config.generator.attention_resolutions = (16, 32)
    config.generator.residual_blocks = 1
    config.discriminator.base_channels = 4

    config.clustering.k = 2
    config.clustering.memory_batches = 2
    config.clustering.every_n_batches = 2
    config.clustering.lloyd_iterations = 2

    config.train.epochs = 1
    config.train.batch_size = 2
    config.train.sample_stories = 2
    config.eval.batch_size = 4
    return config
