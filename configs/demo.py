"""Demo: the full method (every loss term, online K-means, BWSA) trained for a few minutes on a
laptop CPU, for the README walk-through: 32x32 frames, half the default generator and
discriminator widths, 200 embedded synthetic training stories (100 val, 100 test), 4 epochs.
The samples show coloured layouts, not finished pictures; configs/synthetic_cpu.py is the
30-minute CPU experiment and configs/paper_pororo.py the paper's."""
from configs import default


def get_config():
    config = default.get_config()
    config.data.image_size = 32
    config.data.synthetic_train = 200
    config.data.synthetic_val = 100   # R-precision ranks among 100 candidate stories
    config.data.synthetic_test = 100
    config.generator.base_channels = 32
    config.generator.attention_resolutions = (16, 32)
    config.discriminator.base_channels = 16
    config.pretrain.epochs = 2
    config.train.epochs = 4
    return config
