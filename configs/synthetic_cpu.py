"""The CPU experiment of the README: the full method (every loss term, online K-means, BWSA) at
64x64 on the embedded synthetic dataset, sized so that about 30 minutes on a 2-core CPU gives
recognisable characters: one attention stage at 32x32 with one residual block, narrower
networks than configs/default.py."""
from configs import default


def get_config():
    config = default.get_config()
    config.generator.base_channels = 48
    config.generator.attention_resolutions = (32,)
    config.generator.residual_blocks = 1
    config.discriminator.base_channels = 24
    config.train.epochs = 5
    config.train.steps_per_epoch = 100
    config.train.jit_compile = True     # one CPU device: XLA is ~15% faster here
    return config
